# Every source scripts/build downloads, pinned by sha256. One file, read by scripts/build (`source`) and by
# packaging/sbom.py (KEY=VALUE lines), so the SBOM states exactly what the build checked.
# Debian's packages (libpython3.11.a, OpenSSL, zlib, expat, glibc, libgcc) come from apt as installed: the SBOM
# records the versions and files the linker really opened (scripts/build links with --trace).

# CPython 3.11.2 (the version of Debian 12's libpython3.11.a): Modules/_json.c and Modules/_ssl.c, from the
# orig tarball of Debian's python3.11 source package.
CPYTHON_VERSION=3.11.2
JSON_C_SHA256=4de78eb637b6682a954b1651d5b8b7275a6862ca1bdab54d5e45598052f2c9b4
SSL_C_SHA256=61a8314f917d9661753f642c484f17e039e0b3549b9c054f050b84e2bf77c75f
# Build tools from the same tarball, not shipped: Tools/scripts/deepfreeze.py (and the umarshal.py it imports)
# write the bytecode of the modules imported at init as static C objects (no unmarshalling at start).
DEEPFREEZE_PY_SHA256=b3a79ae268439aac83bb801aaba5000c653c562bd13d308d6faca0a4562e4f5b
UMARSHAL_PY_SHA256=6a9de1e9d513b73a48a0b16e84dc1f1864e8cd0e0b3c61c131fbbf3065ed8be7

# Google's Brotli: the C library and its Python binding (_brotli.c), from the PyPI sdist.
BROTLI_VERSION=1.2.1
BROTLI_SHA256=02b2f7b5a83485efe448a44ddf7983def05c3bb1dcf917d4f7154070260e13de

# pybase64 (SIMD base64 for binary bodies): its C extension and the libbase64 it bundles, from the PyPI sdist.
PYBASE64_VERSION=1.5.1
PYBASE64_SHA256=aa924f7c2e90349d472d7d57c3680de8d222a32c2d3d07f922ab2f60516e478d
