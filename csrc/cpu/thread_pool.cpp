// The thread pool (thread_pool.h says what it is for and how it is used).
//
// One job at a time. The caller that holds `dispatch` publishes a job (function, context, task
// count, threads), bumps `epoch` and wakes the workers that sleep on it. Every thread of the job,
// the caller included, claims tasks from `claim`, whose high half is the job's epoch and low half
// the next task: a compare-and-swap claims a task only while its job is the current one, so a
// worker that wakes late, after its job is finished and another published, can never run a task of
// the wrong job or read a finished job's context. The caller returns when `done` reaches the task
// count; it spins on it for a moment, then sleeps on it (a futex) until the last task's thread
// wakes it.
//
// Workers: after a job a worker polls `epoch` for kSpinNs (so back-to-back calls, the common case
// in a training loop, find it awake), then sleeps on the futex. Polling uses the pause instruction
// and reads the clock every 64 polls; a sleeping worker costs nothing.
//
// A worker that starts a job on the caller's CPU moves off it (move_off). Linux places a thread
// woken by a futex near its waker when it judges the waker's CPU a good home, and a worker that
// shares the caller's core shares its time: the call runs at one thread's speed or worse, and the
// worker, time-sliced, sleeps and is woken onto that CPU again, call after call. On a two-vCPU
// virtual machine (Zen 5) that state lasted hundreds of calls at a time: 128^3 took 19 us instead
// of 11, the time it takes with the worker pinned to the caller's CPU. The move is a hint, not a
// binding: the worker is excluded from that one CPU for the moment of the migration (a reader of
// its mask may see it narrowed then), then given its whole mask back.
#include "cpu/thread_pool.h"

#include "cpu/cpu.h"
#include "cpu/gemm/gemm.h"

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define DLCORE_PAUSE() _mm_pause()
#else
#define DLCORE_PAUSE() ((void)0)
#endif

namespace dlcore::cpu {
namespace {

// How long a worker keeps polling for the next job after its last task before it sleeps, and how
// long a caller polls for its job's last task before it sleeps. 50 us covers the gap between the
// kernel calls of a training step (so they find the workers awake: a futex wake-up costs 5-50 us on
// a virtual machine) and costs a neighbour (OpenBLAS, PyTorch) at most that much of one core after
// dlcore's last call.
constexpr int64_t kSpinNs = 50'000;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void futex_wait(std::atomic<uint32_t>* word, uint32_t expected) {
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t), "futex word");
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}

void futex_wake(std::atomic<uint32_t>* word, int count) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, count, nullptr, nullptr, 0);
}

int default_threads() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? int(n) : 1;
}

struct Pool {
  std::atomic<int> nthreads{default_threads()};
  int started = 0;  // workers started (guarded by dispatch)
  pthread_mutex_t dispatch = PTHREAD_MUTEX_INITIALIZER;

  // The current job.
  std::atomic<uint32_t> epoch{0};  // futex word of the sleeping workers; one more per job
  std::atomic<uint64_t> claim{0};  // (epoch << 32) | next task
  std::atomic<pool_detail::TaskFn> fn{nullptr};
  std::atomic<void*> ctx{nullptr};
  std::atomic<int64_t> ntasks{0};
  std::atomic<int> job_threads{0};
  std::atomic<uint32_t> done{0};  // tasks finished; futex word of a sleeping caller
  std::atomic<int> sleepers{0};   // workers asleep (or about to be) on epoch
  std::atomic<int> caller_asleep{0};
  std::atomic<int> caller_cpu{-1};  // the CPU the job's caller published it from
  std::mutex error_mu;
  std::exception_ptr error;
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: workers may still poll it at exit
  return *p;
}

void run_task(Pool& P, pool_detail::TaskFn f, void* x, int64_t i) {
  try {
    f(x, i);
  } catch (...) {
    std::lock_guard<std::mutex> lock(P.error_mu);
    if (!P.error) P.error = std::current_exception();
  }
}

// Claim and run tasks of job `e` until none is left (or the job is no longer current).
void participate(Pool& P, uint32_t e) {
  for (;;) {
    uint64_t c = P.claim.load(std::memory_order_acquire);
    if (uint32_t(c >> 32) != e) return;
    // Acquire: a count, function or context of the next job, seen here, comes with that job's
    // closing of this job's claim (run), so the compare-and-swap below then fails.
    const int64_t i = int64_t(uint32_t(c)), n = P.ntasks.load(std::memory_order_acquire);
    if (i >= n) return;
    pool_detail::TaskFn f = P.fn.load(std::memory_order_acquire);
    void* x = P.ctx.load(std::memory_order_acquire);
    if (!P.claim.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel)) continue;
    // The claim succeeded while job e was current, so f, x and n are job e's, and job e cannot end
    // before this task is counted done.
    run_task(P, f, x, i);
    if (P.done.fetch_add(1, std::memory_order_seq_cst) + 1 == uint32_t(n) &&
        P.caller_asleep.load(std::memory_order_seq_cst))
      futex_wake(&P.done, 1);
  }
}

// Move the calling thread to another CPU of its affinity mask than `cpu`, leaving the mask as it was
// (see the top of this file). Nothing when the mask holds `cpu` alone or cannot be read.
void move_off(int cpu) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (cpu < 0 || cpu >= CPU_SETSIZE || sched_getaffinity(0, sizeof(allowed), &allowed) != 0 ||
      !CPU_ISSET(cpu, &allowed) || CPU_COUNT(&allowed) < 2)
    return;
  cpu_set_t others = allowed;
  CPU_CLR(cpu, &others);
  if (sched_setaffinity(0, sizeof(others), &others) == 0) sched_setaffinity(0, sizeof(allowed), &allowed);
}

struct WorkerArgs {
  int index;      // 1.. (the caller is 0)
  uint32_t seen;  // the epoch before the job that started it
};

void* worker_main(void* arg) {
  const WorkerArgs a = *static_cast<WorkerArgs*>(arg);
  delete static_cast<WorkerArgs*>(arg);
  Pool& P = pool();
  uint32_t seen = a.seen;
  bool spin = true;  // poll before sleeping only after a job this worker took part in
  for (;;) {
    uint32_t e = P.epoch.load(std::memory_order_acquire);
    const int64_t t0 = now_ns();
    for (int polls = 0; e == seen; e = P.epoch.load(std::memory_order_acquire)) {
      if (spin && a.index < P.nthreads.load(std::memory_order_relaxed)) {
        DLCORE_PAUSE();
        if (++polls % 64 != 0 || now_ns() - t0 < kSpinNs) continue;
      }
      P.sleepers.fetch_add(1, std::memory_order_seq_cst);
      if (P.epoch.load(std::memory_order_seq_cst) == seen) futex_wait(&P.epoch, seen);
      P.sleepers.fetch_sub(1, std::memory_order_seq_cst);
      spin = false;
    }
    seen = e;
    spin = a.index < P.job_threads.load(std::memory_order_acquire);
    if (spin) {
      const int caller = P.caller_cpu.load(std::memory_order_relaxed);
      if (caller >= 0 && sched_getcpu() == caller) move_off(caller);
      participate(P, e);
    }
  }
  return nullptr;
}

void start_workers(Pool& P, int want) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);  // workers inherit it: signals go to the other threads
  while (P.started < want) {
    auto* a = new WorkerArgs{P.started + 1, P.epoch.load()};
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    const int rc = pthread_create(&t, &attr, worker_main, a);
    pthread_attr_destroy(&attr);
    if (rc != 0) {  // out of threads: run with the workers there are
      delete a;
      break;
    }
    pthread_setname_np(t, "dlcore-worker");
    ++P.started;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

// fork: the prepare handler waits for the call in flight (if any) and holds the pool, so the child
// never starts with a half-done job; the child's pool has no workers (threads do not survive fork)
// and starts new ones at its first parallel call. It first runs the kernels' lazily initialized
// statics (the ISA, the cache sizes, the GEMM tuning): one that another thread was initializing at
// the moment of fork would stay "being initialized" in the child forever, and the child's first
// kernel would wait on it (seen: a child stuck in __cxa_guard_acquire under cache_sizes()).
void before_fork() {
  (void)active_isa();
  (void)cache_sizes();
  (void)gemm_tuning();
  pthread_mutex_lock(&pool().dispatch);
}
void after_fork_parent() { pthread_mutex_unlock(&pool().dispatch); }
void after_fork_child() {
  Pool& P = pool();
  P.started = 0;
  P.sleepers.store(0);
  P.caller_asleep.store(0);
  P.error = nullptr;
  pthread_mutex_init(&P.dispatch, nullptr);
}

const bool fork_handlers_installed = [] {
  pthread_atfork(before_fork, after_fork_parent, after_fork_child);
  return true;
}();

}  // namespace

int pool_num_threads() { return pool().nthreads.load(std::memory_order_relaxed); }

void pool_set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("set_num_threads: n must be >= 1, got " + std::to_string(n));
  pool().nthreads.store(n);
}

int pool_workers_started() {
  Pool& P = pool();
  pthread_mutex_lock(&P.dispatch);
  const int n = P.started;
  pthread_mutex_unlock(&P.dispatch);
  return n;
}

namespace pool_detail {

void run(int64_t n, int nt, TaskFn fn, void* ctx) {
  Pool& P = pool();
  (void)fork_handlers_installed;
  nt = int(std::min<int64_t>({int64_t(nt), int64_t(P.nthreads.load(std::memory_order_relaxed)), n}));
  // Busy (a nested call from inside a task, or a second caller thread): run inline.
  if (nt <= 1 || n >= int64_t(UINT32_MAX) || pthread_mutex_trylock(&P.dispatch) != 0) {
    for (int64_t i = 0; i < n; ++i) fn(ctx, i);
    return;
  }
  if (P.started < nt - 1) start_workers(P, nt - 1);
  nt = std::min(nt, P.started + 1);

  // Close the last job's claim before its fields change. A worker still in that job's participate
  // loop after its last task reads the claim (all tasks taken) and then the task count: without
  // this, the count could already be this job's, larger, and its compare-and-swap on the old claim
  // would succeed before the new claim is stored, running a task that belongs to neither job
  // (seen: a worker crashing in a pooling kernel on a finished call's context, and a caller
  // waiting forever on a count that a stray task had thrown off).
  P.claim.store((P.claim.load(std::memory_order_relaxed) | uint64_t(UINT32_MAX)), std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  P.error = nullptr;
  P.fn.store(fn, std::memory_order_relaxed);
  P.ctx.store(ctx, std::memory_order_relaxed);
  P.ntasks.store(n, std::memory_order_relaxed);
  P.job_threads.store(nt, std::memory_order_relaxed);
  P.done.store(0, std::memory_order_relaxed);
  P.caller_cpu.store(sched_getcpu(), std::memory_order_relaxed);
  const uint32_t e = P.epoch.load(std::memory_order_relaxed) + 1;
  P.claim.store(uint64_t(e) << 32, std::memory_order_release);
  P.epoch.store(e, std::memory_order_seq_cst);
  if (P.sleepers.load(std::memory_order_seq_cst) > 0) futex_wake(&P.epoch, INT_MAX);

  participate(P, e);

  // Wait for the tasks other threads still run: poll, then sleep.
  const int64_t t0 = now_ns();
  for (int polls = 0; P.done.load(std::memory_order_acquire) != uint32_t(n);) {
    DLCORE_PAUSE();
    if (++polls % 64 == 0 && now_ns() - t0 > kSpinNs) {
      P.caller_asleep.store(1, std::memory_order_seq_cst);
      for (uint32_t d; (d = P.done.load(std::memory_order_seq_cst)) != uint32_t(n);) futex_wait(&P.done, d);
      P.caller_asleep.store(0, std::memory_order_relaxed);
      break;
    }
  }
  std::exception_ptr err = P.error;
  P.error = nullptr;
  pthread_mutex_unlock(&P.dispatch);
  if (err) std::rethrow_exception(err);
}

}  // namespace pool_detail
}  // namespace dlcore::cpu
