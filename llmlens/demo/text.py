"""What the demo's fictional SaaS product ("Nimbus") documents, what its users ask, and a toy tokenizer."""

from __future__ import annotations

import re
from dataclasses import dataclass

PRODUCT = "Nimbus"


@dataclass(frozen=True)
class Topic:
    """A support topic: documented facts, the way users ask about them, and whether the corpus covers it."""

    name: str
    section: str
    facts: tuple[str, ...]
    questions: tuple[str, ...]
    covered: bool = True


TOPICS: tuple[Topic, ...] = (
    Topic(
        "billing",
        "Billing",
        (
            "Invoices are issued on the first day of each month and can be downloaded from Settings > Billing.",
            "Nimbus accepts Visa, Mastercard, American Express and SEPA direct debit.",
            "A failed payment is retried three times over seven days before the workspace is paused.",
            "Annual plans are invoiced up front and include two months free.",
            "VAT is added to invoices for customers in the EU unless a valid VAT ID is on file.",
        ),
        (
            "How do I download last month's invoice?",
            "Which payment methods do you accept?",
            "What happens if my card payment fails?",
            "Is there a discount for paying annually?",
            "Why was VAT added to my invoice?",
        ),
    ),
    Topic(
        "pricing",
        "Plans and pricing",
        (
            "The Pro plan costs $59 per user per month, billed monthly.",
            "The Team plan costs $99 per user per month and adds SSO and audit logs.",
            "The Free plan includes 3 projects and 1 GB of storage.",
            "Enterprise pricing is custom and starts at 50 seats.",
            "Prices in the EU are shown in euros: the Pro plan is 55 € per user per month.",
        ),
        (
            "How much does the Pro plan cost?",
            "What is the price of the Team plan?",
            "What do I get on the free plan?",
            "How many seats does Enterprise need?",
            "What does Pro cost in euros?",
        ),
    ),
    Topic(
        "sso",
        "Single sign-on",
        (
            "SAML single sign-on is available on the Team and Enterprise plans.",
            "Nimbus supports Okta, Azure AD (Entra ID) and Google Workspace as identity providers.",
            "To enable SSO, upload your IdP metadata XML under Settings > Security > SSO.",
            "SCIM provisioning syncs users and groups every 40 minutes.",
            "Enforcing SSO signs out every user who logged in with a password.",
        ),
        (
            "How do I set up SAML SSO with Okta?",
            "Which identity providers do you support?",
            "Where do I upload the IdP metadata?",
            "How often does SCIM sync users?",
            "What happens to password logins when I enforce SSO?",
        ),
    ),
    Topic(
        "rate_limits",
        "API rate limits",
        (
            "The REST API allows 600 requests per minute per API key.",
            "Requests over the limit get HTTP 429 with a Retry-After header.",
            "Bulk endpoints count as ten requests each against the rate limit.",
            "Enterprise workspaces can request a higher limit of 3,000 requests per minute.",
            "Webhook deliveries do not count against the API rate limit.",
        ),
        (
            "What is the API rate limit?",
            "Why am I getting HTTP 429 errors?",
            "Do bulk endpoints count differently toward the limit?",
            "Can we get a higher rate limit?",
            "Do webhooks count toward the rate limit?",
        ),
    ),
    Topic(
        "export",
        "Data export",
        (
            "Workspace admins can export all data as CSV or JSON from Settings > Data > Export.",
            "Exports larger than 2 GB are split into parts and delivered by email link.",
            "Export links expire after 72 hours.",
            "The API endpoint /v2/exports starts an export programmatically.",
            "Attachments are exported in a separate ZIP archive.",
        ),
        (
            "How can I export all my data?",
            "Why was my export split into several files?",
            "How long is the export download link valid?",
            "Can I start an export through the API?",
            "Are attachments included in the export?",
        ),
    ),
    Topic(
        "password",
        "Account access",
        (
            "Password reset emails are valid for 30 minutes.",
            "After five failed logins the account is locked for 15 minutes.",
            "Two-factor authentication supports authenticator apps and hardware keys.",
            "Admins can force a password reset for any member from the Members page.",
            "Recovery codes can be regenerated under Profile > Security.",
        ),
        (
            "My password reset link expired, what do I do?",
            "Why is my account locked?",
            "Which two-factor methods are supported?",
            "Can an admin reset a member's password?",
            "I lost my recovery codes, how do I get new ones?",
        ),
    ),
    Topic(
        "webhooks",
        "Webhooks",
        (
            "Webhooks are signed with HMAC-SHA256 in the X-Nimbus-Signature header.",
            "Failed webhook deliveries are retried with exponential backoff for 24 hours.",
            "Each workspace can register up to 20 webhook endpoints.",
            "Webhook payloads are JSON and at most 256 KB.",
            "A webhook endpoint is disabled after 100 consecutive failures.",
        ),
        (
            "How do I verify a webhook signature?",
            "Are failed webhooks retried?",
            "How many webhook endpoints can I add?",
            "What is the maximum webhook payload size?",
            "Why was my webhook endpoint disabled?",
        ),
    ),
    Topic(
        "mobile",
        "Mobile app",
        (
            "The mobile app supports iOS 16 and Android 12 or newer.",
            "Offline mode keeps the last 200 opened documents on the device.",
            "Push notifications are configured per project in the app settings.",
            "The app crashes on startup were fixed in version 5.4.2.",
            "Biometric login uses Face ID or the Android fingerprint API.",
        ),
        (
            "Which phones does the mobile app support?",
            "Does the app work offline?",
            "How do I turn off push notifications for one project?",
            "The app crashes when I open it, is there a fix?",
            "Can I log in with Face ID?",
        ),
    ),
    Topic(
        "gdpr",
        "Privacy and GDPR",
        (
            "Account deletion requests are completed within 30 days.",
            "Backups containing deleted data are purged after 35 days.",
            "Nimbus stores EU customer data in Frankfurt, Germany.",
            "A data processing agreement (DPA) can be signed from Settings > Legal.",
            "Sub-processors are listed on the trust page and changes are announced 30 days ahead.",
        ),
        (
            "How long does account deletion take?",
            "When is my data removed from backups?",
            "Where is EU data stored?",
            "How do I sign a DPA?",
            "Where can I see your sub-processors?",
        ),
    ),
    Topic(
        "integrations",
        "Integrations",
        (
            "The Slack integration posts project updates to a chosen channel.",
            "The GitHub integration links pull requests to Nimbus tasks by task ID.",
            "Zapier triggers are available for new tasks, comments and status changes.",
            "The Jira sync is two-way and runs every 5 minutes.",
            "Integrations can only be installed by workspace admins.",
        ),
        (
            "How do I connect Slack?",
            "Can I link GitHub pull requests to tasks?",
            "Which Zapier triggers do you have?",
            "How often does the Jira sync run?",
            "Why can't I install an integration?",
        ),
    ),
    Topic(
        "search",
        "Search",
        (
            "Search covers task titles, comments and attachment text.",
            "Attachment text is indexed for PDF, DOCX and TXT files up to 20 MB.",
            "Use quotes for exact phrases and a minus sign to exclude words.",
            "New content becomes searchable within about one minute.",
            "Search results respect project permissions.",
        ),
        (
            "Does search look inside attachments?",
            "Which attachment types are indexed?",
            "How do I search for an exact phrase?",
            "Why can't I find a task I just created?",
            "Can people find tasks in projects they can't access?",
        ),
    ),
    Topic(
        "onprem",
        "On-premise deployment",
        (
            "Nimbus can be deployed on-premise with the Helm chart nimbus-server 4.2.",
            "On-premise installs need 16 GB of RAM and PostgreSQL 15.",
            "Air-gapped installs receive updates as signed offline bundles.",
            "On-premise licences are priced per core.",
            "The on-premise edition supports LDAP in addition to SAML.",
        ),
        (
            "Can we run Nimbus on our own servers?",
            "What are the hardware requirements for on-premise?",
            "Do you support air-gapped installations?",
            "How is the on-premise version licensed?",
            "Does the on-premise edition support LDAP?",
        ),
        covered=False,
    ),
)

STALE_PRICING_FACTS: tuple[str, ...] = (
    "The Pro plan costs $49 per user per month, billed monthly.",
    "The Team plan costs $79 per user per month and adds SSO.",
    "The Free plan includes 5 projects and 2 GB of storage.",
    "Enterprise pricing is custom and starts at 100 seats.",
    "Prices in the EU are shown in euros: the Pro plan is 45 € per user per month.",
)
"""The 2023 pricing page, still in the index: one stale fact per current pricing fact."""

INVENTED_ANSWERS: tuple[str, ...] = (
    "Yes. Nimbus Self-Hosted runs on your own servers with our Docker image nimbus/server:latest; "
    "contact sales to get a licence key.",
    "On-premise installs need at least 8 GB of RAM, 4 CPU cores and MySQL 8.",
    "Air-gapped installs are supported: run `nimbus update --offline` with the bundle from the customer portal.",
    "The on-premise version is licensed per user at $45 per month, the same as the Pro plan.",
    "Yes, the on-premise edition supports LDAP and Active Directory through the Nimbus Connector add-on.",
)
"""What the assistant makes up when the corpus has nothing on the question (plausible, and wrong)."""

SYSTEM_PROMPT = (
    f"You are the support assistant for {PRODUCT}. Answer the user's question using only the context below. "
    "If the context does not contain the answer, say you don't know."
)

_TOKEN = re.compile(r" ?[A-Za-z]+| ?[0-9]| ?[^\sA-Za-z0-9]|\s+")


def tokenize(text: str) -> list[str]:
    """Split text into GPT-like pieces: a word with its leading space, one digit, one symbol.

    >>> tokenize("Costs $59 now.")
    ['Costs', ' $', '5', '9', ' now', '.']
    """
    return _TOKEN.findall(text)
