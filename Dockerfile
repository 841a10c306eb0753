# kube-verdict image: multi-stage, small, non-root.
#   docker build -t ghcr.io/kube-verdict/kube-verdict:0.1.0 .
# The binary uses rustls (no OpenSSL), so the runtime image only needs glibc.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# Cargo.toml declares the bench target; the file must exist for the manifest to load.
COPY benches ./benches
RUN cargo build --release --locked --bin kube-verdict \
 && strip target/release/kube-verdict

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/kube-verdict /usr/local/bin/kube-verdict
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/kube-verdict"]
CMD ["serve"]
