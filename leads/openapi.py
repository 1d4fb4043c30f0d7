"""The OpenAPI 3.1 description of the intake API, served at /api/v1/openapi.json.

Written by hand because the API is two endpoints on plain Django views; keep it next to
leads/api.py and change both together (tests/test_api_openapi.py checks they agree).
"""

from __future__ import annotations

from leads.forms import ActivityIntakeForm, LeadIntakeForm
from leads.models import Activity

_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}}
_FIELD_ERRORS = {
    "type": "object",
    "properties": {
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "Messages per field; `contact` when neither a valid phone nor e-mail was given.",
        }
    },
}


def _string_fields(form_class) -> dict:
    props = {}
    for name, form_field in form_class.base_fields.items():
        spec: dict = {"type": "string"}
        if getattr(form_field, "max_length", None):
            spec["maxLength"] = form_field.max_length
        props[name] = spec
    return props


def openapi_document() -> dict:
    lead_props = _string_fields(LeadIntakeForm)
    lead_props["source"]["description"] = (
        "Informational: the token decides the lead's source; this value is kept as extra.source_label."
    )
    lead_props["company_size"]["description"] = "Head count: 300, 100-499 (lower bound is used) or 1000+."
    lead_props["lead_type"]["description"] = "Code of a LeadType."
    lead_props["is_referral"] = {"type": ["boolean", "string"]}
    lead_props["extra"] = {
        "type": "object",
        "description": "Anything else; unknown top-level keys land here too.",
    }
    activity_props = {
        "lead_id": {"type": "integer"},
        "phone": {"type": "string", "maxLength": 40},
        "email": {"type": "string", "maxLength": 254},
        "kind": {"type": "string", "enum": list(Activity.Kind.values)},
        "actor": {"type": "string", "enum": ["customer", "system"], "default": "customer"},
        "occurred_at": {"type": "string", "format": "date-time"},
        "note": {"type": "string", "maxLength": 5000},
        "outcome": {"type": "string", "maxLength": 100},
        "data": {"type": "object"},
        "lead": {
            "type": "object",
            "description": "Lead fields, used only when the source may create leads from activities.",
        },
    }
    assert set(activity_props) == set(ActivityIntakeForm.base_fields)
    lead_out = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "status": {
                "type": "string",
                "enum": ["new", "nurturing", "pooled", "assigned", "silent", "converted", "lost"],
            },
            "tier": {"type": "string", "enum": ["high", "medium", "low"]},
            "score": {"type": "integer"},
            "score_breakdown": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "rule": {"type": "string"},
                        "rule_id": {"type": "integer"},
                        "points": {"type": "integer"},
                    },
                },
            },
            "owner": {"type": ["string", "null"], "description": "Username of the owning rep."},
            "rule": {"type": ["string", "null"], "description": "The assignment rule that decided."},
        },
    }
    common = {
        "400": {"description": "Invalid fields", "content": {"application/json": {"schema": _FIELD_ERRORS}}},
        "401": {
            "description": "Missing or invalid source token",
            "content": {"application/json": {"schema": _ERROR}},
        },
        "413": {"description": "Body too large", "content": {"application/json": {"schema": _ERROR}}},
        "415": {
            "description": "Body is not application/json",
            "content": {"application/json": {"schema": _ERROR}},
        },
        "422": {
            "description": "Idempotency-Key reused with another body",
            "content": {"application/json": {"schema": _ERROR}},
        },
        "429": {"description": "Rate limit of the source exceeded (see Retry-After)"},
    }
    idempotency = {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "maxLength": 100},
        "description": (
            "A retried request with the same key returns the first response and creates nothing. "
            "Keys are remembered for 24 hours."
        ),
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Leadflow intake API", "version": "1.0.0"},
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {
                "sourceToken": {"type": "http", "scheme": "bearer", "description": "A Source's API token"}
            },
            "schemas": {"Lead": lead_out},
        },
        "security": [{"sourceToken": []}],
        "paths": {
            "/leads": {
                "post": {
                    "summary": "Submit a lead (deduplicated, scored and routed)",
                    "parameters": [idempotency],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"type": "object", "properties": lead_props}}
                        },
                    },
                    "responses": {
                        "201": {
                            "description": "Created",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Lead"}}
                            },
                        },
                        "200": {
                            "description": "Merged into an existing lead",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Lead"}}
                            },
                        },
                        **common,
                    },
                }
            },
            "/activities": {
                "post": {
                    "summary": "Record a behaviour event for a lead found by lead_id, phone or email",
                    "parameters": [idempotency],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": activity_props,
                                    "required": ["kind"],
                                }
                            }
                        },
                    },
                    "responses": {
                        "201": {
                            "description": "Recorded; the lead is re-scored",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "activity_id": {"type": "integer"},
                                            "lead_created": {"type": "boolean"},
                                            "tier_change": {
                                                "type": ["array", "null"],
                                                "items": {"type": "string"},
                                            },
                                            "lead": {"$ref": "#/components/schemas/Lead"},
                                        },
                                    }
                                }
                            },
                        },
                        "404": {"description": "No such lead (and the source may not create one)"},
                        **common,
                    },
                }
            },
        },
    }
