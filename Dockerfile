# reweb's image, built from source: `docker build -t reweb .` (or `docker build -t reweb <git URL>#<tag>`).
# The executable is made inside the build, by scripts/build in a Debian 12 stage, so nothing needs to be
# installed on the host but Docker. The result is FROM scratch: /reweb and its SBOM /reweb.cdx.json.
#
#   docker build -t reweb .                                          # any builder, classic or BuildKit
#   DOCKER_BUILDKIT=1 docker build --platform linux/arm64 -t reweb:arm64 .       # arm64: BuildKit
#   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/reweb:TAG --push .
#   DOCKER_BUILDKIT=1 docker build --target dist -o out .            # the files alone: executable, SBOM, layer
#
# The build stage is always linux/amd64 (scripts/build cross-compiles arm64 there): an x86_64 host needs no
# emulation for either architecture; an arm64 host runs that stage under its amd64 emulation.
# TARGETARCH is set by BuildKit; the classic builder leaves it empty and builds x86_64 (it cannot label a
# FROM scratch image arm64 anyway: use BuildKit for arm64).

FROM --platform=linux/amd64 debian:bookworm-slim AS build
ARG TARGETARCH
WORKDIR /reweb
# A CA bundle that the base image already has (one made behind a TLS-inspecting proxy, as the test suite's
# base is) stays trusted when apt's ca-certificates package rewrites the bundle. No-op on Docker Hub's image.
RUN if [ -s /etc/ssl/certs/ca-certificates.crt ]; then mkdir -p /usr/local/share/ca-certificates \
      && cp /etc/ssl/certs/ca-certificates.crt /usr/local/share/ca-certificates/base-image-bundle.crt; fi
# First the toolchain and the pinned sources (cached until scripts/build or the pins change; apt's lists are
# kept: the SBOM takes each .deb's SHA-256 from them) ...
COPY scripts/build scripts/build
COPY packaging/pins.sh packaging/sbom.py packaging/
RUN bash scripts/build --fetch "${TARGETARCH:-amd64}"
# ... then reweb itself.
COPY src/ src/
COPY packaging/layer/ packaging/layer/
RUN bash scripts/build "${TARGETARCH:-amd64}" \
 && arch=$(case "${TARGETARCH:-amd64}" in arm64) echo arm64;; *) echo x86_64;; esac) \
 && mkdir /out \
 && cp "dist/reweb-linux-$arch" /out/reweb && cp "dist/reweb-linux-$arch.cdx.json" /out/reweb.cdx.json \
 && cp "dist/reweb-linux-$arch" "dist/reweb-linux-$arch.cdx.json" "dist/reweb-layer-$arch.zip" /out/ \
 && rm -rf build

# `--target dist -o DIR`: dist/'s files for the target architecture (what a release publishes).
FROM scratch AS dist
COPY --from=build /out/reweb-* /

FROM scratch
COPY --from=build /out/reweb /out/reweb.cdx.json /
LABEL org.opencontainers.image.title="reweb" \
      org.opencontainers.image.description="Run unmodified web apps on AWS Lambda: COPY --from=reweb /reweb /usr/local/bin/reweb" \
      org.opencontainers.image.licenses="Apache-2.0"
ENTRYPOINT ["/reweb"]
