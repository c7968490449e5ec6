# armorwatch node agent image. Build: docker build -t ghcr.io/armorwatch/armorwatch:0.1.0 .
# Without a registry (no base image can be pulled): bash scripts/image.sh, which debootstraps the
# Debian 12 base and passes it in as DEBIAN_12_SLIM.
#
# Both stages start from Debian 12 slim. The default is the tag, so the Dockerfile builds as shipped;
# for a reproducible rebuild pin the digest your registry serves (`crane digest debian:12-slim`, or
# the top "Digest:" line of `docker buildx imagetools inspect debian:12-slim`) without editing:
#   docker build --build-arg DEBIAN_12_SLIM=debian:12-slim@sha256:<digest> .
ARG DEBIAN_12_SLIM=debian:12-slim
# The build stage's base, the same unless given: scripts/image.sh gives one that also trusts the
# machine's extra certificate authorities, which the image itself never carries.
ARG BUILD_BASE=${DEBIAN_12_SLIM}

# ---- build: the project's own set-up script installs the eBPF toolchain (Debian packages) and the
# pinned Node.js 24 and npm (tarballs from the npm registry, scripts/lib/node.sh), then builds
# (scripts/build.sh: native helper + BPF object into build/, TypeScript into dist/).
FROM ${BUILD_BASE} AS build
WORKDIR /src
# First what installing the dependencies reads, so that a change to the sources reuses that layer.
COPY package.json package-lock.json .node-version /src/
COPY scripts/setup.sh /src/scripts/setup.sh
COPY scripts/lib /src/scripts/lib
RUN bash scripts/setup.sh --no-build
COPY . /src
# The BPF object is compiled against a vmlinux.h. When native/Makefile generates it from
# /sys/kernel/btf/vmlinux, that is the BTF of the machine running `docker build`: fine, because
# the object is CO-RE and libbpf relocates it against the BTF of each node at load time.
RUN bash scripts/setup.sh \
 && tools/node/node_modules/node/bin/npm prune --omit=dev --no-audit --no-fund

# ---- runtime: Node.js, the built agent and the shared libraries the helper links. No compiler,
# no npm, no package cache.
FROM ${DEBIAN_12_SLIM}
# libbpf1 brings libelf1 and zlib1g, the rest of what build/armorwatch-monitor links. apt's package
# lists and caches (80 MB) go too, where the base does not drop them itself as debian:12-slim does.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libbpf1 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /var/cache/apt/*.bin
WORKDIR /opt/armorwatch
# bin/armorwatch runs the Node.js found at tools/node/node_modules/node/bin/node, as in the repo
# (where npm left a symlink there, COPY copies the binary it points to).
COPY --from=build /src/tools/node/node_modules/node/bin/node /opt/armorwatch/tools/node/node_modules/node/bin/node
COPY --from=build /src/package.json /opt/armorwatch/package.json
COPY --from=build /src/node_modules /opt/armorwatch/node_modules
COPY --from=build /src/dist /opt/armorwatch/dist
COPY --from=build /src/bin /opt/armorwatch/bin
# The BPF object is embedded in the helper (bpftool gen skeleton), so build/*.bpf.o is not copied.
COPY --from=build /src/build/armorwatch-monitor /opt/armorwatch/build/armorwatch-monitor
ENV PATH=/opt/armorwatch/bin:$PATH
# Root on purpose. Kubernetes puts added capabilities (BPF, PERFMON, ...) into the permitted and
# effective sets only of a uid-0 process; a non-root process would receive them only as ambient
# capabilities, which Kubernetes does not set. The DaemonSet drops every other capability and
# forbids privilege escalation. Nothing is written outside /tmp and mounted volumes, so the root
# filesystem can be read-only.
USER 0:0
EXPOSE 8787
ENTRYPOINT ["/opt/armorwatch/bin/armorwatch"]
CMD ["run", "--policies", "/etc/armorwatch/policies"]
