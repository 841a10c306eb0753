# kube-verdict image: multi-stage, small, non-root.
#   docker build -t ghcr.io/kube-verdict/kube-verdict:0.1.0 .
# The binary uses rustls (no OpenSSL), so the runtime image only needs glibc.
# Base images are pinned by digest, so a rebuild uses the exact bytes reviewed; bump both with
#   docker buildx imagetools inspect rust:1.95-slim-bookworm
#   docker buildx imagetools inspect gcr.io/distroless/cc-debian12:nonroot
FROM rust:1.95-slim-bookworm@sha256:d7482085ff5b415f84dba5647ae71606650bdef00db7aeb69f4b3d170c3e4082 AS build
WORKDIR /src
# jemalloc (the binary's allocator, built from source by tikv-jemalloc-sys) needs make.
RUN apt-get update \
 && apt-get install -y --no-install-recommends make \
 && rm -rf /var/lib/apt/lists/*
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# Cargo.toml declares the bench target; the file must exist for the manifest to load.
COPY benches ./benches
RUN cargo build --release --locked --bin kube-verdict \
 && strip target/release/kube-verdict

FROM gcr.io/distroless/cc-debian12:nonroot@sha256:9dac0a79194e45a7da0158a9c6da57b217585af0786db3845d1f0ec1a0dd182f
COPY --from=build /src/target/release/kube-verdict /usr/local/bin/kube-verdict
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/kube-verdict"]
CMD ["serve"]
