"""The FastAPI application: one per runtime."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.telemetry import TelemetryConfig

import carnet
from carnet.auth.verify import TokenVerifier
from carnet.http import docs, errors, headers, intake, metrics
from carnet.http.api import lifecycle, messages, patient, pro, transparency
from carnet.http.api import profile as profile_api
from carnet.http.fhir import profile_routes as fhir_profile
from carnet.http.fhir import routes as fhir_routes
from carnet.http.routing import OneHop
from carnet.population.insi import RateLimiter
from carnet.runtime import Runtime
from carnet.web import router as web_router

#: FastAPI's own OpenTelemetry, off whatever the environment says: its spans and logs would
#: carry request paths (INS, ids) and the values of refused input (issue 15: no personal data
#: leaves in logs; carnet.metrics counts by route template instead), and even unconfigured it
#: asked three providers on every request (issue 19).
NO_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
    "auto_configure": False,
}


#: The routers, in the order a request is matched against them: the pros' and the patients' API
#: first, the busiest doors (issue 19); no path of one is a path of another, so the order changes
#: no answer. Those with a prefix are ``PrefixedRouter``s: a request passes the others' routes by
#: one test of its path each (issue 18), not route by route (3–4 µs a route).
ROUTERS: tuple[APIRouter, ...] = (
    pro.router,
    patient.router,
    metrics.router,
    docs.router,
    lifecycle.router,
    messages.router,
    transparency.router,
    profile_api.router,
    fhir_routes.router,
    fhir_profile.router,
    web_router,
)


def create_app(runtime: Runtime, verifier: TokenVerifier | None = None) -> FastAPI:
    app = FastAPI(
        title="Carnet",
        version=carnet.__version__,
        description="Dossier médical partagé et messagerie sécurisée de santé — API JSON.",
        docs_url=None,  # /docs is carnet.http.docs: Swagger UI vendored, no CDN
        redoc_url=None,
        telemetry=NO_TELEMETRY,
    )
    app.state.runtime = runtime
    app.state.verifier = verifier or TokenVerifier.from_settings(runtime.settings)
    app.state.insi_limiter = RateLimiter(runtime.settings.insi_rate_per_minute)
    app.router.route_class = OneHop  # /healthz below (the included routers say their own)
    errors.install(app)
    app.add_middleware(intake.Intake, answer=errors.send_refusal)
    app.add_middleware(metrics.RequestCounter)
    app.add_middleware(headers.SecurityHeaders)

    @app.get("/healthz", tags=["operations"])
    def healthz(request: Request) -> dict[str, str]:
        """Waits for the database like any request (issue 19): busy past its queue, it says
        503 with Retry-After, as the requests it stands for would."""
        current: Runtime = request.app.state.runtime
        with current.uow.transaction() as session:
            session.connection().exec_driver_sql("SELECT 1")
        return {"status": "ok", "version": carnet.__version__}

    for router in ROUTERS:
        app.include_router(router)  # as it is: PrefixedRouter's gate needs no added prefix
    return app
