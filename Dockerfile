# syntax=docker/dockerfile:1
# Multi-stage build: the server binary plus the built task pane in a slim, non-root image.
# Build:  docker build -t crm-outlook .
# Run:    docker run -p 8080:8080 -e DATABASE_URL=postgres://… -e PUBLIC_URL=https://addin.example.fi \
#                    -e CLIENT_ID=… -e CLIENT_SECRET=… -e SECRET_KEYS=k1:<base64 32 bytes> crm-outlook

FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# `cargo xtask pane` adds the wasm target, the matching wasm-bindgen-cli, binaryen and terser (npm), then builds
# static/pkg (with the .br/.gz siblings the server sends to browsers that accept them).
RUN cargo xtask pane \
 && cargo build --release --locked -p crm-server

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin crm
COPY --from=build /src/target/release/crm-server /usr/local/bin/crm-server
COPY --from=build /src/static /app/static
WORKDIR /app
ENV LISTEN_ADDR=0.0.0.0:8080 \
    STATIC_DIR=/app/static \
    LOG_FORMAT=json \
    RUST_LOG=info
USER 10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["crm-server"]
CMD ["serve"]
