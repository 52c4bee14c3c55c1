# The controller image: one static binary (kubectl-kudo, run as
# `kubectl-kudo controller`) on a distroless base, non-root.
# Build: docker build -t ghcr.io/kudo-dev/kudo:v0.1.0 .
FROM rust:1.95-alpine AS build
# musl is Alpine's libc, so the binary is static; rustls + ring need no OpenSSL.
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin kubectl-kudo \
 && strip target/release/kubectl-kudo

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/target/release/kubectl-kudo /usr/local/bin/kubectl-kudo
# The time-zone database is compiled in (jiff tzdb-bundle-always): no /usr/share/zoneinfo needed.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/kubectl-kudo"]
CMD ["controller"]
