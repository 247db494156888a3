# syntax=docker/dockerfile:1
# Two stages: `build` has torch (CPU) and sentence-transformers and makes index/ (vectors, the ONNX query encoder
# with its tokenizer, the ranker); `runtime` has only the serve-only set (no torch, no sentence-transformers, no
# scikit-learn) and that index. tests/test_deploy.py runs the runtime stage's steps in a fresh venv.
#   docker build -t roadmap-qa .        docker run -p 7860:7860 roadmap-qa

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 ROADMAP_QA_INDEX_DIR=/index
WORKDIR /src
# The CPU build of torch first, so that no later resolver step pulls a CUDA build (several GB).
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
COPY pyproject.toml README.md app.py ./
COPY kb kb
COPY qa qa
RUN pip install ".[build]" && pip wheel --no-deps -w /wheels .
RUN roadmap-qa build-index

FROM python:3.11-slim AS runtime
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1 \
    GRADIO_ANALYTICS_ENABLED=False \
    ROADMAP_QA_INDEX_DIR=/app/index ROADMAP_QA_SERVE_ONLY=true ROADMAP_QA_HOST=0.0.0.0 ROADMAP_QA_PORT=7860
RUN useradd --create-home --uid 10001 app
WORKDIR /app
COPY --from=build /wheels /wheels
# The project without extras: what serving needs, and nothing that builds.
RUN pip install /wheels/*.whl && rm -rf /wheels
COPY --from=build --chown=root:root /index /app/index
USER 10001
EXPOSE 7860
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import json, urllib.request as u; assert json.load(u.urlopen('http://127.0.0.1:7860/api/health', timeout=2))['ready']"]
CMD ["roadmap-qa", "serve", "--serve-only"]
