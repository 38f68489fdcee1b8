"""What the demo's fictional SaaS product ("Nimbus") documents, what its users ask, and a toy tokenizer."""

from __future__ import annotations

import re
from dataclasses import dataclass

PRODUCT = "Nimbus"


@dataclass(frozen=True)
class Topic:
    """A support topic: its doc pages, the facts they state, how users ask about each fact, and other sentences.

    ``questions[i]`` holds the phrasings of a question that ``facts[i]`` answers. ``details`` are further
    sentences on the topic's pages that answer none of the questions. A topic the corpus does not cover has
    questions but no pages in the index.
    """

    name: str
    section: str
    pages: tuple[str, ...]
    facts: tuple[str, ...]
    questions: tuple[tuple[str, ...], ...]
    details: tuple[str, ...]
    covered: bool = True


TOPICS: tuple[Topic, ...] = (
    Topic(
        "billing",
        "Billing",
        ("Invoices and receipts", "Payment methods", "Failed payments"),
        (
            "Invoices are issued on the first day of each month and can be downloaded from Settings > Billing.",
            "Nimbus accepts Visa, Mastercard, American Express and SEPA direct debit.",
            "A failed payment is retried three times over seven days before the workspace is paused.",
            "Annual plans are invoiced up front and include two months free.",
            "VAT is added to invoices for customers in the EU unless a valid VAT ID is on file.",
        ),
        (
            ("How do I download last month's invoice?", "Where can I find my invoices?", "Can I get a PDF invoice?"),
            ("Which payment methods do you accept?", "Can I pay by SEPA direct debit?", "Do you take Amex?"),
            (
                "What happens if my card payment fails?",
                "My payment failed, will you pause our workspace?",
                "How many times do you retry a failed charge?",
            ),
            (
                "Is there a discount for paying annually?",
                "Do annual plans get free months?",
                "How is the annual plan billed?",
            ),
            ("Why was VAT added to my invoice?", "How do I stop being charged VAT?", "Where do I enter our VAT ID?"),
        ),
        (
            "Only workspace owners and billing admins can change the payment method.",
            "Receipts are emailed to the billing contact as soon as a payment succeeds.",
            "The billing contact can be different from the workspace owner.",
            "Invoices show the number of active seats on the day they were issued.",
        ),
    ),
    Topic(
        "pricing",
        "Plans and pricing",
        ("Compare plans", "Seats and add-ons", "Enterprise"),
        (
            "The Pro plan costs $59 per user per month, billed monthly.",
            "The Team plan costs $99 per user per month and adds SSO and audit logs.",
            "The Free plan includes 3 projects and 1 GB of storage.",
            "Enterprise pricing is custom and starts at 50 seats.",
            "Prices in the EU are shown in euros: the Pro plan is 55 € per user per month.",
        ),
        (
            ("How much does the Pro plan cost?", "What's the price of Pro per user?", "Pro plan price per month?"),
            (
                "What is the price of the Team plan?",
                "How much is Team per seat?",
                "Which plan do I need for SSO and what does it cost?",
            ),
            (
                "What do I get on the free plan?",
                "How many projects are included for free?",
                "What are the limits of the Free plan?",
            ),
            (
                "How many seats does Enterprise need?",
                "What's the minimum size for an Enterprise contract?",
                "Is there a seat minimum for Enterprise?",
            ),
            ("What does Pro cost in euros?", "Do you have EUR pricing?", "How much is the Pro plan in €?"),
        ),
        (
            "Seats can be added at any time and are prorated to the end of the billing period.",
            "Removing a seat takes effect at the next renewal.",
            "Nonprofits and schools get 50% off the Pro and Team plans.",
            "Storage add-ons are sold in packs of 100 GB.",
        ),
    ),
    Topic(
        "sso",
        "Single sign-on",
        ("SAML setup", "Identity providers", "SCIM provisioning"),
        (
            "SAML single sign-on is available on the Team and Enterprise plans.",
            "Nimbus supports Okta, Azure AD (Entra ID) and Google Workspace as identity providers.",
            "To enable SSO, upload your IdP metadata XML under Settings > Security > SSO.",
            "SCIM provisioning syncs users and groups every 40 minutes.",
            "Enforcing SSO signs out every user who logged in with a password.",
        ),
        (
            ("Which plans include SAML SSO?", "Is SSO available on Pro?", "Do I need Team for single sign-on?"),
            (
                "Which identity providers do you support?",
                "Does SSO work with Azure AD?",
                "Can we use Google Workspace as our IdP?",
            ),
            (
                "How do I set up SAML SSO with Okta?",
                "Where do I upload the IdP metadata?",
                "What are the steps to turn on SAML?",
            ),
            (
                "How often does SCIM sync users?",
                "Why hasn't a new Okta user shown up in Nimbus yet?",
                "How quickly does SCIM provisioning pick up group changes?",
            ),
            (
                "What happens to password logins when I enforce SSO?",
                "Will enforcing SSO log everyone out?",
                "Can members still use passwords once SSO is enforced?",
            ),
        ),
        (
            "The Assertion Consumer Service URL is shown on the SSO settings page.",
            "Nimbus signs SAML requests with SHA-256.",
            "Guests outside your domain can still log in with a password unless you block them.",
            "A test login is required before SSO can be enforced.",
        ),
    ),
    Topic(
        "rate_limits",
        "API rate limits",
        ("Limits per key", "Handling 429 responses", "Bulk endpoints"),
        (
            "The REST API allows 600 requests per minute per API key.",
            "Requests over the limit get HTTP 429 with a Retry-After header.",
            "Bulk endpoints count as ten requests each against the rate limit.",
            "Enterprise workspaces can request a higher limit of 3,000 requests per minute.",
            "Webhook deliveries do not count against the API rate limit.",
        ),
        (
            (
                "What is the API rate limit?",
                "How many API calls can I make per minute?",
                "Is the rate limit per key or per workspace?",
            ),
            (
                "Why am I getting HTTP 429 errors?",
                "What does a 429 from your API mean?",
                "How long should I wait after a 429?",
            ),
            (
                "Do bulk endpoints count differently toward the limit?",
                "How are bulk requests counted?",
                "Does a bulk import use more of the rate limit?",
            ),
            (
                "Can we get a higher rate limit?",
                "How do I raise our API limit?",
                "Is there a higher limit for Enterprise?",
            ),
            (
                "Do webhooks count toward the rate limit?",
                "Are webhook deliveries rate limited?",
                "Will webhooks use up my API quota?",
            ),
        ),
        (
            "The current usage is returned in the X-RateLimit-Remaining header.",
            "API keys are created under Settings > API and can be scoped to one project.",
            "The API is versioned; /v1 endpoints are deprecated and will be removed in 2027.",
            "GraphQL queries are limited by complexity points instead of request count.",
        ),
    ),
    Topic(
        "export",
        "Data export",
        ("Export your workspace", "Export via API", "Export formats"),
        (
            "Workspace admins can export all data as CSV or JSON from Settings > Data > Export.",
            "Exports larger than 2 GB are split into parts and delivered by email link.",
            "Export links expire after 72 hours.",
            "The API endpoint /v2/exports starts an export programmatically.",
            "Attachments are exported in a separate ZIP archive.",
        ),
        (
            ("How can I export all my data?", "Can I download everything as CSV?", "Where is the export button?"),
            (
                "Why was my export split into several files?",
                "My export came in 4 parts, is that normal?",
                "Is there a size limit for exports?",
            ),
            (
                "How long is the export download link valid?",
                "My export link doesn't work anymore, why?",
                "When do export links expire?",
            ),
            (
                "Can I start an export through the API?",
                "Is there an API for exports?",
                "How do I automate a nightly export?",
            ),
            (
                "Are attachments included in the export?",
                "Where are the files in my export?",
                "Does the export contain uploaded files?",
            ),
        ),
        (
            "Exports include tasks, comments, projects and member lists.",
            "Only one export per workspace can run at a time.",
            "Deleted items are not part of an export.",
            "Exports of large workspaces can take up to an hour to prepare.",
        ),
    ),
    Topic(
        "password",
        "Account access",
        ("Reset your password", "Two-factor authentication", "Locked accounts"),
        (
            "Password reset emails are valid for 30 minutes.",
            "After five failed logins the account is locked for 15 minutes.",
            "Two-factor authentication supports authenticator apps and hardware keys.",
            "Admins can force a password reset for any member from the Members page.",
            "Recovery codes can be regenerated under Profile > Security.",
        ),
        (
            (
                "My password reset link expired, what do I do?",
                "How long is a password reset email valid?",
                "I didn't reset my password in time, can I get a new link?",
            ),
            (
                "Why is my account locked?",
                "How long does an account lockout last?",
                "I typed my password wrong a few times and now I can't log in.",
            ),
            (
                "Which two-factor methods are supported?",
                "Can I use a YubiKey for 2FA?",
                "Do you support authenticator apps?",
            ),
            (
                "Can an admin reset a member's password?",
                "How do I force a password reset for someone on my team?",
                "As an admin, can I make a user change their password?",
            ),
            (
                "I lost my recovery codes, how do I get new ones?",
                "Where do I regenerate recovery codes?",
                "How can I see my 2FA backup codes again?",
            ),
        ),
        (
            "Passwords must be at least 12 characters long.",
            "Login sessions expire after 30 days of inactivity.",
            "Every new login from an unknown device triggers an email alert.",
            "Members can see their active sessions and sign them out remotely.",
        ),
    ),
    Topic(
        "webhooks",
        "Webhooks",
        ("Create a webhook", "Verify signatures", "Retries and failures"),
        (
            "Webhooks are signed with HMAC-SHA256 in the X-Nimbus-Signature header.",
            "Failed webhook deliveries are retried with exponential backoff for 24 hours.",
            "Each workspace can register up to 20 webhook endpoints.",
            "Webhook payloads are JSON and at most 256 KB.",
            "A webhook endpoint is disabled after 100 consecutive failures.",
        ),
        (
            (
                "How do I verify a webhook signature?",
                "Which header has the webhook signature?",
                "What algorithm do you use to sign webhooks?",
            ),
            (
                "Are failed webhooks retried?",
                "Our endpoint was down for an hour, will we get the events?",
                "How long do you keep retrying a webhook?",
            ),
            (
                "How many webhook endpoints can I add?",
                "Is there a limit on webhooks per workspace?",
                "Can I register more than 20 webhooks?",
            ),
            (
                "What is the maximum webhook payload size?",
                "How big can a webhook payload get?",
                "What format are webhook payloads in?",
            ),
            (
                "Why was my webhook endpoint disabled?",
                "Our webhook stopped firing, what happened?",
                "When do you turn off a failing webhook?",
            ),
        ),
        (
            "Each delivery has a unique X-Nimbus-Delivery id for deduplication.",
            "Endpoints must respond with a 2xx status within 10 seconds.",
            "The delivery log keeps the last 30 days of attempts.",
            "Webhook endpoints must use HTTPS.",
        ),
    ),
    Topic(
        "mobile",
        "Mobile app",
        ("Install the app", "Offline mode", "Notifications"),
        (
            "The mobile app supports iOS 16 and Android 12 or newer.",
            "Offline mode keeps the last 200 opened documents on the device.",
            "Push notifications are configured per project in the app settings.",
            "The app crashes on startup were fixed in version 5.4.2.",
            "Biometric login uses Face ID or the Android fingerprint API.",
        ),
        (
            (
                "Which phones does the mobile app support?",
                "Does the app run on iOS 15?",
                "What Android version do I need?",
            ),
            ("Does the app work offline?", "Can I read documents on a plane?", "How much is stored for offline use?"),
            (
                "How do I turn off push notifications for one project?",
                "Can I mute notifications from a project?",
                "Where are the notification settings in the app?",
            ),
            (
                "The app crashes when I open it, is there a fix?",
                "Mobile app keeps crashing on launch",
                "Which app version fixes the startup crash?",
            ),
            (
                "Can I log in with Face ID?",
                "Does the app support fingerprint login?",
                "How do I turn on biometric login?",
            ),
        ),
        (
            "The app is available in English, Deutsch, Español and Français.",
            "Files larger than 100 MB cannot be uploaded from the app.",
            "Dark mode follows the system setting by default.",
            "Tablet layouts are available on iPad and Android tablets.",
        ),
    ),
    Topic(
        "gdpr",
        "Privacy and GDPR",
        ("Data residency", "Deleting your account", "Data processing agreement"),
        (
            "Account deletion requests are completed within 30 days.",
            "Backups containing deleted data are purged after 35 days.",
            "Nimbus stores EU customer data in Frankfurt and Canadian customer data in Montréal.",
            "A data processing agreement (DPA) can be signed from Settings > Legal.",
            "Sub-processors are listed on the trust page and changes are announced 30 days ahead.",
        ),
        (
            (
                "How long does account deletion take?",
                "I asked you to delete my account, when is it done?",
                "How do I request deletion of my data under GDPR?",
            ),
            (
                "When is my data removed from backups?",
                "Do deleted files stay in your backups?",
                "How long do you keep backups?",
            ),
            ("Where is EU data stored?", "Do you host data in Canada?", "Which region is our data stored in?"),
            (
                "How do I sign a DPA?",
                "Do you offer a data processing agreement?",
                "Where can I download the DPA for our legal team?",
            ),
            (
                "Where can I see your sub-processors?",
                "Will you tell us when you add a sub-processor?",
                "Which third parties process our data?",
            ),
        ),
        (
            "Nimbus is certified under ISO 27001 and audited for SOC 2 Type II every year.",
            "Customer data is encrypted at rest with AES-256.",
            "Data residency is chosen when the workspace is created and cannot be changed later.",
            "The privacy team can be reached at privacy@nimbus.example.",
        ),
    ),
    Topic(
        "integrations",
        "Integrations",
        ("Slack", "GitHub and Jira", "Zapier"),
        (
            "The Slack integration posts project updates to a chosen channel.",
            "The GitHub integration links pull requests to Nimbus tasks by task ID.",
            "Zapier triggers are available for new tasks, comments and status changes.",
            "The Jira sync is two-way and runs every 5 minutes.",
            "Integrations can only be installed by workspace admins.",
        ),
        (
            (
                "How do I connect Slack?",
                "Can Nimbus post updates to a Slack channel?",
                "How do I get project notifications in Slack?",
            ),
            (
                "Can I link GitHub pull requests to tasks?",
                "How does the GitHub integration work?",
                "Will a PR show up on the task automatically?",
            ),
            (
                "Which Zapier triggers do you have?",
                "Can Zapier react to new comments?",
                "Is there a Zapier trigger for status changes?",
            ),
            (
                "How often does the Jira sync run?",
                "Is the Jira sync two-way?",
                "Why does a Jira change take a few minutes to show up?",
            ),
            (
                "Why can't I install an integration?",
                "Who can install integrations?",
                "The install button for Slack is greyed out, why?",
            ),
        ),
        (
            "Disconnecting an integration keeps the data it already synced.",
            "The Microsoft Teams integration is in beta.",
            "Each integration has its own activity log under Settings > Integrations.",
            "Integrations use OAuth and never see your Nimbus password.",
        ),
    ),
    Topic(
        "search",
        "Search",
        ("Search basics", "Search operators", "Indexing"),
        (
            "Search covers task titles, comments and attachment text.",
            "Attachment text is indexed for PDF, DOCX and TXT files up to 20 MB.",
            "Use quotes for exact phrases and a minus sign to exclude words.",
            "New content becomes searchable within about one minute.",
            "Search results respect project permissions.",
        ),
        (
            ("Does search look inside attachments?", "Can I search comments?", "What does search cover?"),
            (
                "Which attachment types are indexed?",
                "Why doesn't search find text in my 30 MB PDF?",
                "Are Word documents searchable?",
            ),
            (
                "How do I search for an exact phrase?",
                "How can I exclude a word from search?",
                "Are there search operators?",
            ),
            (
                "Why can't I find a task I just created?",
                "How long until new tasks show up in search?",
                "Search doesn't show my new comment yet",
            ),
            (
                "Can people find tasks in projects they can't access?",
                "Does search respect permissions?",
                "Will guests see private projects in search results?",
            ),
        ),
        (
            "Search results can be filtered by project, assignee and date.",
            "Saved searches appear in the sidebar.",
            "Search supports English, German, French and Spanish stemming.",
            "Archived projects are excluded from search unless the filter includes them.",
        ),
    ),
    Topic(
        "onprem",
        "On-premise deployment",
        (),
        (
            "Nimbus can be deployed on-premise with the Helm chart nimbus-server 4.2.",
            "On-premise installs need 16 GB of RAM and PostgreSQL 15.",
            "Air-gapped installs receive updates as signed offline bundles.",
            "On-premise licences are priced per core.",
            "The on-premise edition supports LDAP in addition to SAML.",
        ),
        (
            (
                "Can we run Nimbus on our own servers?",
                "Is there a self-hosted version?",
                "Can we deploy Nimbus in our own Kubernetes cluster?",
            ),
            (
                "What are the hardware requirements for on-premise?",
                "How much RAM does a self-hosted install need?",
                "Which database does the on-prem version use?",
            ),
            (
                "Do you support air-gapped installations?",
                "How do updates work without internet access?",
                "Can the on-prem version run fully offline?",
            ),
            ("How is the on-premise version licensed?", "What does self-hosting cost?", "Is on-prem priced per user?"),
            (
                "Does the on-premise edition support LDAP?",
                "Can on-prem use our Active Directory?",
                "Is LDAP login available when self-hosted?",
            ),
        ),
        (),
        covered=False,
    ),
)

STALE_PAGES: tuple[str, ...] = ("Compare plans", "Plan limits", "Pricing FAQ")
"""Pages of the 2023 pricing section, archived but never removed from the index."""

STALE_PRICING_FACTS: tuple[str, ...] = (
    "The Pro plan costs $49 per user per month, billed monthly.",
    "The Team plan costs $79 per user per month and adds SSO.",
    "The Free plan includes 5 projects and 2 GB of storage.",
    "Enterprise pricing is custom and starts at 100 seats.",
    "Prices in the EU are shown in euros: the Pro plan is 45 € per user per month.",
)
"""The 2023 pricing page: one outdated fact per current pricing fact, in the same order."""

STALE_DETAILS: tuple[str, ...] = (
    "Prices exclude tax.",
    "Annual billing saves 10%.",
    "Prices valid from 1 March 2023.",
    "Audit logs are available as an add-on for $10 per user.",
)
"""Other sentences on the 2023 pricing pages."""

BOILERPLATE: tuple[str, ...] = (
    "",
    "",
    "",
    " Changes take effect immediately for everyone in the workspace.",
    " Contact support@nimbus.example if you need help.",
    " See also the Administration guide.",
    " This applies to all plans unless stated otherwise.",
)
"""Sentences many doc pages end with (empty: the page ends with its content)."""

INVENTED_ANSWERS: tuple[str, ...] = (
    "Yes. Nimbus Self-Hosted runs on your own servers with our Docker image nimbus/server:latest; "
    "contact sales to get a licence key.",
    "On-premise installs need at least 8 GB of RAM, 4 CPU cores and MySQL 8.",
    "Air-gapped installs are supported: run `nimbus update --offline` with the bundle from the customer portal.",
    "The on-premise version is licensed per user at $45 per month, the same as the Pro plan.",
    "Yes, the on-premise edition supports LDAP and Active Directory through the Nimbus Connector add-on.",
)
"""What the assistant makes up when the corpus has nothing on the question (plausible, and wrong)."""

DONT_KNOW = "I couldn't find that in the documentation. Please contact support@nimbus.example."

ANSWER_PREFIXES: tuple[str, ...] = (
    "",
    "",
    "",
    "Sure! ",
    "Good question. ",
    "Happy to help. ",
    "From the documentation: ",
)
ANSWER_SUFFIXES: tuple[str, ...] = ("", "", "", " Let me know if you need anything else.", " Hope that helps! 👍")
QUESTION_OPENERS: tuple[str, ...] = ("", "", "", "", "Hi, ", "Quick question: ", "hey - ", "Hello, ")
"""How users start a question; a non-empty opener is followed by the question with a lower-case first letter."""
QUESTION_CLOSERS: tuple[str, ...] = (
    "",
    "",
    "",
    "",
    " Thanks!",
    " thx",
    " We're on the Team plan.",
    " Asking for my team.",
)

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


def ask(opener: str, question: str, closer: str) -> str:
    """A question as a user types it: an optional opener and closer around the plain question.

    >>> ask("Hi, ", "How do I connect Slack?", " Thanks!")
    'Hi, how do I connect Slack? Thanks!'
    """
    body = question[:1].lower() + question[1:] if opener else question
    return opener + body + closer
