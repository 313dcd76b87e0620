"""The built-in demo Stripe account, served through an httpx transport."""

from lib.demo.data import DemoAccount, StripeObject, build_demo_account
from lib.demo.transport import DEMO_API_KEY, DemoStripeTransport, mask_api_key

__all__ = [
    "DEMO_API_KEY",
    "DemoAccount",
    "DemoStripeTransport",
    "StripeObject",
    "build_demo_account",
    "mask_api_key",
]
