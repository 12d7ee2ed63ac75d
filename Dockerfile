# syntax=docker/dockerfile:1
# selfbrake's container images.
#
#   docker build -t selfbrake .                               # the proxy (default target)
#   docker build --target embedded -t selfbrake:embedded .    # + the embedded mistral.rs engine
#   docker run -p 8787:8787 -v "$PWD/my.toml:/etc/selfbrake/config.toml:ro" selfbrake
#
# The image listens on 0.0.0.0:8787 (SELFBRAKE__SERVER__LISTEN overrides the
# config's `server.listen`) and reads /etc/selfbrake/config.toml, which you
# mount (deploy/k8s mounts a ConfigMap there). Backend keys come from the
# environment variables the config names in `api_key_env`.

ARG RUST_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---- build: the proxy ------------------------------------------------------
FROM ${RUST_IMAGE} AS builder
WORKDIR /src
COPY . .
# The cache mounts keep the registry and the build between image builds; the
# binary is copied out of the cached target dir before the step ends. The
# `dist` profile is release with whole-program LTO (see Cargo.toml), and
# profile-guided: scripts/pgo.sh builds it instrumented, serves a training
# load over loopback and builds it again with the profile (docs/benchmarks.md,
# "Fourth pass"). `--build-arg PGO=0` skips the training build.
ARG PGO=1
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    if [ "$PGO" = 1 ]; then \
      cp "$(scripts/pgo.sh)" /usr/local/bin/selfbrake; \
    else \
      cargo build --profile dist --locked -p selfbrake --bin selfbrake \
      && cp target/dist/selfbrake /usr/local/bin/selfbrake; \
    fi

# ---- build: the proxy with the embedded engine ----------------------------
FROM ${RUST_IMAGE} AS builder-embedded
# mistral.rs's tokenizer dependencies compile C/C++ with cmake.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends cmake \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# AVX2 code generation: about 4x the tokens/s of the baseline x86-64 target
# on CPU (see scripts/embedded.sh). The image then needs an x86-64-v3 CPU.
# Plain release, not `dist`: the engine's build already takes 20-26 minutes
# on two cores, and whole-program LTO has not been measured on it.
ENV RUSTFLAGS="-C target-cpu=x86-64-v3"
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p selfbrake --bin selfbrake --features embedded \
    && cp target/release/selfbrake /usr/local/bin/selfbrake

# ---- runtime base: small, non-root ----------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 selfbrake \
    && useradd --system --uid 10001 --gid selfbrake --home-dir /nonexistent \
       --no-create-home --shell /usr/sbin/nologin selfbrake \
    && mkdir -p /etc/selfbrake
COPY LICENSE /usr/share/doc/selfbrake/LICENSE
ENV SELFBRAKE__SERVER__LISTEN=0.0.0.0:8787
EXPOSE 8787
USER 10001:10001
ENTRYPOINT ["selfbrake"]
CMD ["serve", "--config", "/etc/selfbrake/config.toml"]

# ---- image: the proxy with the embedded engine (mount the GGUF model) -----
FROM runtime AS embedded
COPY --from=builder-embedded /usr/local/bin/selfbrake /usr/local/bin/selfbrake

# ---- image: the proxy (default: the last stage) ---------------------------
FROM runtime AS proxy
COPY --from=builder /usr/local/bin/selfbrake /usr/local/bin/selfbrake
