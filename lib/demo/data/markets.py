"""Where the demo shop's customers live: currencies, countries, names and local prices."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Market:
    """Where a customer lives: their currency, card country, and names that fit."""

    currency: str
    weight: int
    minor_per_usd_cent: float
    price_step: int
    countries: tuple[str, ...]
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split(", "))


MARKETS = (
    Market(
        currency="usd",
        weight=62,
        minor_per_usd_cent=1.0,
        price_step=25,
        countries=("US",),
        first_names=_names(
            "Ava, Liam, Olivia, Noah, Emma, Mateo, Sophia, Elijah, Mia, Lucas, Harper, Ethan, "
            "Amelia, Mason, Zoe, Caleb"
        ),
        last_names=_names(
            "Carter, Nguyen, Patel, Brooks, Rivera, Kim, Foster, Hughes, Ramirez, Bennett, "
            "Morales, Sullivan, Chen, Price, Ortiz, Reed"
        ),
    ),
    Market(
        currency="eur",
        weight=14,
        minor_per_usd_cent=0.92,
        price_step=50,
        countries=("DE", "FR", "NL", "IE", "ES", "IT"),
        first_names=_names("Lena, Jonas, Camille, Hugo, Sofie, Daan, Aoife, Luca, Marta, Elias"),
        last_names=_names("Schneider, Dubois, de Vries, Murphy, García, Rossi, Jansen, Moreau"),
    ),
    Market(
        currency="gbp",
        weight=11,
        minor_per_usd_cent=0.79,
        price_step=50,
        countries=("GB",),
        first_names=_names("Oliver, Isla, George, Freya, Harry, Poppy, Jack, Imogen"),
        last_names=_names("Taylor, Evans, Walsh, Clarke, Wright, Holmes, Doyle, Fletcher"),
    ),
    Market(
        currency="jpy",
        weight=8,
        minor_per_usd_cent=1.5,
        price_step=10,
        countries=("JP",),
        first_names=_names("Haruto, Yui, Sota, Hina, Ren, Aoi, Yuto, Sakura"),
        last_names=_names("Sato, Suzuki, Takahashi, Tanaka, Watanabe, Ito, Yamamoto, Nakamura"),
    ),
    Market(
        currency="kwd",
        weight=5,
        minor_per_usd_cent=3.07,
        price_step=50,
        countries=("KW",),
        first_names=_names("Fatima, Yousef, Noura, Abdullah, Mariam, Khalid, Sara, Omar"),
        last_names=_names("Al-Mutairi, Al-Ajmi, Al-Kandari, Al-Enezi, Al-Rashidi, Al-Hajri"),
    ),
)


def local_price(usd_cents: int, market: Market) -> int:
    """A US-cent price in the market's currency, rounded to its price step (at least one step)."""
    step = market.price_step
    return max(step, round(usd_cents * market.minor_per_usd_cent / step) * step)
