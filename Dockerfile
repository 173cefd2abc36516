# syntax=docker/dockerfile:1
#
# cloudinstance-controller image.
#
#   docker build -t <registry>/cloudinstance-controller:0.1.0 .
#
# Build stage: the same Rust toolchain as development (rust-version 1.89 or newer), on
# Debian bookworm so the binary links against the glibc the runtime image ships.
# Runtime stage: distroless cc (glibc, libgcc, CA certificates, no shell), as the
# unprivileged "nonroot" user (65532). TLS is rustls (ring); no OpenSSL is needed.

ARG RUST_VERSION=1.95

FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
# Sources only (.dockerignore keeps target/, .git/, charts/, docs/ ... out).
COPY . .
# Cache mounts keep the registry and the target dir between builds; the binary is copied
# out of the cached target dir because cache mounts are not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin cloudinstance-controller \
 && install -D -m 0755 target/release/cloudinstance-controller /out/cloudinstance-controller

FROM gcr.io/distroless/cc-debian12:nonroot
# OCI image annotations (https://specs.opencontainers.org/image-spec/annotations/). Pass
# the build's facts when you have them:
#   docker build --build-arg REVISION="$(git rev-parse HEAD)" \
#     --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" -t .../cloudinstance-controller:0.1.0 .
# VERSION is Cargo.toml's package version (tests/packaging.rs keeps them equal).
ARG VERSION=0.1.0
ARG REVISION=""
ARG CREATED=""
LABEL org.opencontainers.image.title="cloudinstance-controller" \
      org.opencontainers.image.description="Kubernetes controller for virtual machines on Tencent Cloud, Alibaba Cloud and Huawei Cloud" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="https://github.com/cloudinstance-controller/cloudinstance-controller" \
      org.opencontainers.image.url="https://github.com/cloudinstance-controller/cloudinstance-controller" \
      org.opencontainers.image.documentation="https://github.com/cloudinstance-controller/cloudinstance-controller/blob/main/README.md" \
      org.opencontainers.image.vendor="cloudinstance-controller maintainers" \
      org.opencontainers.image.base.name="gcr.io/distroless/cc-debian12:nonroot"
COPY --from=build /out/cloudinstance-controller /cloudinstance-controller
# nonroot:nonroot, numeric so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
# /metrics, /healthz, /readyz
EXPOSE 8080
ENTRYPOINT ["/cloudinstance-controller"]
CMD ["run"]
