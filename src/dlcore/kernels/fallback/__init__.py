"""The fallback backend: every kernel of dlcore.kernels written against the array API that NumPy and
CuPy share, one module per family (gemm, conv2d, pool2d, activation, loss, optim, rnn).

Each function takes the array module ``xp`` first and arrays that the public entry has already
checked, and holds computation only: no argument checks, no routing. On the GPU it runs CuPy arrays
where dlcore._cuda was not built (or DLCORE_CUDA_KERNELS=0); with NumPy as ``xp`` it runs in the
test suite inside ``dlcore.kernels.backend.use("fallback")``, so the code that runs on a GPU without
dlcore's CUDA kernels is the code that CI tests. The few pieces NumPy and CuPy do not share live in
``_xp.py``.

Importing this package imports neither CuPy nor dlcore._cuda.
"""
