# Images of the webhook, the extension manager and the plugin:
#   docker build --target webhook           -t kubeext-webhook:dev .
#   docker build --target extension-manager -t kubeext-extension-manager:dev .
#   docker build --target plugin            -t kubeext-plugin:dev .
# Static binaries on distroless, running as a non-root user.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=v0.1.0-dev
ARG COMMIT=unknown
ENV CGO_ENABLED=0
RUN LDFLAGS="-s -w -X github.com/kubeext/kubectl-ext/internal/version.version=${VERSION} -X github.com/kubeext/kubectl-ext/internal/version.gitCommit=${COMMIT}" && \
    go build -trimpath -ldflags "$LDFLAGS" -o /out/webhook ./cmd/webhook && \
    go build -trimpath -ldflags "$LDFLAGS" -o /out/extension-manager ./cmd/extension-manager && \
    go build -trimpath -ldflags "$LDFLAGS" -o /out/kubectl-ext ./cmd/kubectl-ext

FROM gcr.io/distroless/static-debian12:nonroot AS plugin
COPY --from=build /out/kubectl-ext /kubectl-ext
USER 65532:65532
ENTRYPOINT ["/kubectl-ext"]

FROM gcr.io/distroless/static-debian12:nonroot AS webhook
COPY --from=build /out/webhook /webhook
USER 65532:65532
ENTRYPOINT ["/webhook"]

FROM gcr.io/distroless/static-debian12:nonroot AS extension-manager
COPY --from=build /out/extension-manager /extension-manager
USER 65532:65532
ENTRYPOINT ["/extension-manager"]
