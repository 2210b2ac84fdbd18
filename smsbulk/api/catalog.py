from flask.views import MethodView

from ..services import catalog, rent_pricing
from .base import Blueprint
from .docs import errors
from .schemas import CountrySchema, PriceQuerySchema, PriceSchema, RentPriceQuerySchema, RentPriceSchema, ServiceSchema
from .scopes import scope

blp = Blueprint("catalog", __name__, url_prefix="/api/v1/catalog", description="Countries, services and prices")


@blp.route("/countries")
class Countries(MethodView):
    @scope("read")
    @blp.response(200, CountrySchema(many=True))
    @errors()
    @blp.doc(operationId="listCountries")
    def get(self):
        """Every country, with its SMS-Activate id and ISO code"""
        return catalog.countries()


@blp.route("/services")
class Services(MethodView):
    @scope("read")
    @blp.response(200, ServiceSchema(many=True))
    @errors()
    @blp.doc(operationId="listServices")
    def get(self):
        """Every service code"""
        return catalog.services()


@blp.route("/prices")
class Prices(MethodView):
    @scope("read")
    @blp.arguments(PriceQuerySchema(), location="query")
    @blp.response(200, PriceSchema(many=True))
    @errors(404, 422)
    @blp.doc(operationId="listPrices")
    def get(self, query):
        """Best price and stock per service, country and operator"""
        return catalog.prices_for(query.get("service_code"), query.get("country_iso", query.get("country_id")))


@blp.route("/rent-prices")
class RentPrices(MethodView):
    @scope("read")
    @blp.doc(operationId="listRentPrices")
    @blp.arguments(RentPriceQuerySchema(), location="query")
    @blp.response(200, RentPriceSchema(many=True))
    @errors(404, 422)
    def get(self, query):
        """Best rental price and stock per service (`full`: every service), country, operator and length"""
        country = query.get("country_iso", query.get("country_id"))
        return rent_pricing.catalogue(query.get("service_code"), country, query.get("hours"))
