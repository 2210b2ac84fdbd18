from flask.views import MethodView

from ..services import catalog
from .base import Blueprint
from .docs import errors
from .schemas import CountrySchema, PriceQuerySchema, PriceSchema, ServiceSchema

blp = Blueprint("catalog", __name__, url_prefix="/api/v1/catalog", description="Countries, services and prices")


@blp.route("/countries")
class Countries(MethodView):
    @blp.response(200, CountrySchema(many=True))
    @errors()
    def get(self):
        """Every country, with its SMS-Activate id and ISO code"""
        return catalog.countries()


@blp.route("/services")
class Services(MethodView):
    @blp.response(200, ServiceSchema(many=True))
    @errors()
    def get(self):
        """Every service code"""
        return catalog.services()


@blp.route("/prices")
class Prices(MethodView):
    @blp.arguments(PriceQuerySchema(), location="query")
    @blp.response(200, PriceSchema(many=True))
    @errors(404, 422)
    def get(self, query):
        """Best price and stock per service, country and operator"""
        return catalog.prices_for(query.get("service_code"), query.get("country_iso", query.get("country_id")))
