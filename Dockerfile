# confab in a container: built from this workspace (the patched actix-http
# in vendor/ included), run as an unprivileged user, its state in /data.
#
#   docker build -t confab .
#   docker run -p 3000:3000 -v confab-data:/data confab
#
# Settings come as CONFAB_* variables (or a file: -v ./confab.toml:/etc/confab/confab.toml:ro
# -e CONFAB_CONFIG=/etc/confab/confab.toml); secrets too, or the token
# secret is made in /data/jwt-secret on first start.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Only what the binary is built from: its crates, the vendored patch, the
# profiles and the admin UI's page compiled into it.
COPY Cargo.toml Cargo.lock ./
COPY actors ./actors
COPY vendor ./vendor
COPY profiles ./profiles
COPY admin-ui ./admin-ui
COPY src ./src
RUN cargo build --release --locked --bin confab

FROM debian:bookworm-slim
# A fixed uid, so that a volume's owner is the same in every container.
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin confab \
    && mkdir /data \
    && chown confab:confab /data
COPY --from=build /src/target/release/confab /usr/local/bin/confab
ENV CONFAB_DATA_DIR=/data \
    CONFAB_HOST=0.0.0.0 \
    CONFAB_PORT=3000
VOLUME ["/data"]
EXPOSE 3000
USER 10001:10001
# Readiness: GET /api/ready on the configured port answers 200.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["confab", "health"]
ENTRYPOINT ["confab"]
CMD ["serve"]
