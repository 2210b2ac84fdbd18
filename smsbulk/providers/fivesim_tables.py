"""5sim's names for our services and countries (5sim uses slugs where we use SMS-Activate codes and ids)."""

from __future__ import annotations

# Our service code -> 5sim product. One product per service, so prices map back 1:1.
PRODUCTS: dict[str, str] = {
    "wa": "whatsapp",
    "tg": "telegram",
    "go": "google",
    "ig": "instagram",
    "fb": "facebook",
    "vk": "vkontakte",
    "tw": "twitter",
    "ds": "discord",
    "oi": "tinder",
    "am": "amazon",
    "mm": "microsoft",
    "ot": "other",
    "ma": "mailru",
    "ok": "odnoklassniki",
    "vi": "viber",
    "wb": "wechat",
    "lf": "tiktok",
    "ub": "uber",
    "ts": "paypal",
    "mb": "yahoo",
    "nf": "netflix",
    "me": "line",
    "kt": "kakaotalk",
    "bw": "signal",
    "fu": "snapchat",
    "wx": "apple",
    "tn": "linkedin",
    "dh": "ebay",
    "sn": "olx",
    "ka": "shopee",
    "ni": "gojek",
    "nv": "naver",
    "qq": "tencentqq",
    "hx": "aliexpress",
    "ab": "alibaba",
    "hw": "alipay",
    "uu": "wildberries",
    "sg": "ozon",
    "av": "avito",
    "ya": "yandex",
    "mt": "steam",
    "hb": "twitch",
    "re": "coinbase",
    "pm": "aol",
    "zh": "zoho",
    "tx": "bolt",
    "uk": "airbnb",
    "bl": "bigolive",
    "vz": "hinge",
    "jg": "grabtaxi",
    "zk": "deliveroo",
    "li": "baidu",
}

# Our country id -> 5sim slug, where the slug is not the English name lowercased with
# everything but letters removed (countries.csv). Several of our ids may share a slug.
COUNTRY_OVERRIDES: dict[int, str] = {
    12: "usa",  # "USA (virtual)": 5sim has one USA
    187: "usa",
    16: "england",  # United Kingdom
    20: "macau",
    27: "ivorycoast",  # "Ivory Coast (Cote d'Ivoire)"
    63: "czech",  # Czech Republic
    91: "easttimor",  # Timor-Leste
    101: "salvador",  # El Salvador
    104: "tit",  # Trinidad and Tobago
    106: "swaziland",  # "Eswatini (Swaziland)"
    108: "bih",  # Bosnia and Herzegovina
    109: "dominicana",  # Dominican Republic
    158: "bhutane",  # Bhutan
    166: "saintvincentandgrenadines",
}
