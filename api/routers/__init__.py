"""One APIRouter per resource; `api.app` includes them under /api/v1 (health at the root)."""
