# projector container image.
#
#   docker build --build-arg VERSION="$(git describe --tags --always --dirty)" -t projector:dev .
#   (or `make image`)
#   docker run --rm -p 9464:9464 -e PROJECTOR_ADMIN_LISTEN=0.0.0.0:9464 \
#     -e PROJECTOR_KAFKA_BROKERS=… -e PROJECTOR_POSTGRES_URL=… -e PROJECTOR_REDIS_URL=… \
#     -v "$PWD/examples/shop/projector.yaml:/etc/projector/projector.yaml:ro" projector:dev
#
# The example file takes its connections and admin address from those
# variables; a file of your own says where it takes them (${VAR} in it).
# The admin listener defaults to 127.0.0.1, which is unreachable from
# outside the container: set admin.listen (here through the variable).
#
# Stage 1 builds a static binary; stage 2 is a small Alpine runtime (busybox
# wget serves the compose healthcheck) running as an unprivileged user.

ARG GO_VERSION=1.26
ARG ALPINE_VERSION=3.22

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Modules first, so that this layer stays cached while only code changes.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# What `projector version` prints. The context has no .git (.dockerignore), so
# the version comes from outside; without it the binary says "dev".
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
	-ldflags="-s -w -X github.com/projectorhq/projector/internal/cli.Version=${VERSION}" \
	-o /out/projector ./cmd/projector

FROM alpine:${ALPINE_VERSION}
RUN apk add --no-cache ca-certificates tzdata \
	&& addgroup -S -g 10001 projector \
	&& adduser -S -D -H -u 10001 -G projector -s /sbin/nologin projector
COPY --from=build /out/projector /usr/local/bin/projector
USER 10001:10001
# Admin listener: /metrics, /healthz, /readyz (admin.listen in projector.yaml).
EXPOSE 9464
ENTRYPOINT ["/usr/local/bin/projector"]
CMD ["run", "-c", "/etc/projector/projector.yaml"]
