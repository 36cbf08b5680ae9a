# The release's image (scripts/release image): the files `scripts/release executables` made, as they are, so the
# image's /reweb is byte for byte the published executable. Context: build/release/files. BuildKit (TARGETARCH
# picks the platform's stage; `docker buildx build --platform linux/amd64,linux/arm64` makes both).
# The same layout as the root Dockerfile's image: /reweb and its SBOM /reweb.cdx.json.

FROM scratch AS reweb-amd64
COPY reweb-linux-x86_64 /reweb
COPY reweb-linux-x86_64.cdx.json /reweb.cdx.json

FROM scratch AS reweb-arm64
COPY reweb-linux-arm64 /reweb
COPY reweb-linux-arm64.cdx.json /reweb.cdx.json

FROM reweb-${TARGETARCH}
LABEL org.opencontainers.image.title="reweb" \
      org.opencontainers.image.description="Run unmodified web apps on AWS Lambda: COPY --from=reweb /reweb /usr/local/bin/reweb" \
      org.opencontainers.image.licenses="Apache-2.0"
ENTRYPOINT ["/reweb"]
