"""The agent panel (builds what `careline.agents` runs): staff sign-in, the API and its function.

- A Cognito user pool for the practice's staff: no self sign-up (an administrator creates each
  account), MFA required (authenticator app), a strong password policy, threat protection on the
  Plus feature plan, the groups `front_desk`, `billing`, `nurse`, `supervisor` (the queues each
  sees: `careline.agents.access`), a public app client for the panel page (authorization code with
  PKCE through the Cognito sign-in domain), retained with the stack's other data.
- A regional REST API with the Cognito authorizer on every data method, request validation (the
  `why` of a read, the reply's body), stage throttling, X-Ray, and JSON access logs (ids only: the
  resource path, never the party's path values or a body) in a CMK-encrypted log group.
- `functions/agent_api` behind it (`CarelineFunction`), granted exactly what the use cases touch.
- `GET /` serves the panel page itself (no data in it), so the page and the API share one origin:
  that address is what the Connect agent workspace's third-party app points at
  (docs/decisions/0011-agent-panel.md).
"""

from __future__ import annotations

import json
import re

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.data import ConversationStore
from infra.function import CarelineFunction, log_retention
from infra.layers import CarelineLayers
from infra.messaging import SmsChannel

STAGE_NAME = "panel"
# Staff groups (careline.agents.access.StaffGroup) with what each answers; precedence 0 wins when a
# user is in several (Cognito's `cognito:preferred_role`; Careline itself unions their queues).
STAFF_GROUPS = (
    ("supervisor", "Supervisors: every queue", 0),
    ("nurse", "Nurses: the nurse and crisis queues", 10),
    ("front_desk", "Front desk: the front desk queue", 20),
    ("billing", "Billing: the billing queue", 30),
)
# A practice's staff is small; a cap keeps a runaway client (or a loop) from exhausting concurrency.
AGENT_API_CONCURRENCY = 5
THROTTLE_RATE = 20  # requests per second, the whole stage
THROTTLE_BURST = 40
# A reply is one staff text (careline.agents.panel.MAX_REPLY_CHARS).
MAX_REPLY_CHARS = 1000

TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem")

# Who, what, when and the outcome; `resourcePath` is the template (`/escalations/{party_id}/...`),
# so no path value and no query string (the `why` of a read is in the audit log) reach these logs.
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTimeEpoch",
    "sourceIp": "$context.identity.sourceIp",
    "user": "$context.authorizer.claims.sub",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "integrationStatus": "$context.integrationStatus",
    "latency": "$context.responseLatency",
    "error": "$context.error.messageString",
    "authorizerError": "$context.authorizer.error",
}


def sign_in_domain_prefix(stack_name: str, account: str) -> str:
    """The Cognito sign-in domain's prefix: the stack and account, as Cognito accepts it
    (lower-case letters, digits and hyphens, at most 63, no "aws", "amazon" or "cognito")."""
    prefix = re.sub(r"[^a-z0-9-]+", "-", f"{stack_name.lower()}-staff-{account}")
    for reserved in ("amazon", "cognito", "aws"):
        prefix = prefix.replace(reserved, "x")
    return prefix.strip("-")[:63].strip("-")


class AgentPanel(Construct):
    """Staff sign-in, the agent API and its function; `url` is the panel's address."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        store: ConversationStore,
        sms: SmsChannel,
        layers: CarelineLayers,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)

        self.user_pool = self._user_pool(stack)
        self.groups = [
            cognito.CfnUserPoolGroup(
                self,
                f"Group{name.title().replace('_', '')}",
                user_pool_id=self.user_pool.user_pool_id,
                group_name=name,
                description=description,
                precedence=precedence,
            )
            for name, description, precedence in STAFF_GROUPS
        ]
        self.sign_in_domain = self.user_pool.add_domain(
            "SignIn",
            cognito_domain=cognito.CognitoDomainOptions(
                domain_prefix=sign_in_domain_prefix(stack.stack_name, stack.account)
            ),
            managed_login_version=cognito.ManagedLoginVersion.CLASSIC_HOSTED_UI,
        )

        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=log_retention(log_retention_days),
            encryption_key=key,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.api = apigw.RestApi(
            self,
            "Api",
            rest_api_name=f"{stack.stack_name}-agent-panel",
            description="Careline agent panel: escalations, a patient's context, accept, reply, hand back",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=False,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE_NAME,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FORMAT)),
                tracing_enabled=True,
                throttling_rate_limit=THROTTLE_RATE,
                throttling_burst_limit=THROTTLE_BURST,
                data_trace_enabled=False,
                metrics_enabled=True,
            ),
        )
        # the stack outputs the panel's address itself (`AgentPanelUrl`), by a name a reader finds
        self.api.node.try_remove_child("Endpoint")
        # The stage's address, spelled from the API id rather than the stage resource: the app
        # client's callback and the function's environment need it, and the stage depends on them.
        self.url = (
            f"https://{self.api.rest_api_id}.execute-api.{stack.region}.{stack.url_suffix}/{STAGE_NAME}/"
        )

        self.client = self.user_pool.add_client(
            "PanelClient",
            user_pool_client_name="careline-agent-panel",
            generate_secret=False,  # a browser page: a public client, with PKCE
            auth_flows=cognito.AuthFlow(user_srp=True),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
                callback_urls=[self.url],
                logout_urls=[self.url],
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            id_token_validity=cdk.Duration.hours(1),
            access_token_validity=cdk.Duration.hours(1),
            refresh_token_validity=cdk.Duration.hours(12),
        )

        self.handler = CarelineFunction(
            self,
            "AgentApi",
            name="agent_api",
            description="Agent panel API: queue, patient context (audited), accept, reply, hand back",
            layers=layers,
            key=key,
            log_retention_days=log_retention_days,
            timeout=cdk.Duration.seconds(15),
            reserved_concurrency=AGENT_API_CONCURRENCY,
            environment={
                "CARELINE_TABLE_NAME": store.table.table_name,
                "CARELINE_KMS_KEY_ARN": key.key_arn,
                "CARELINE_ORIGINATION_IDENTITY": sms.origination_identity,
                "CARELINE_SMS_CONFIGURATION_SET": sms.configuration_set_name,
                "CARELINE_MESSENGER": "sms",
                "CARELINE_AGENT_PANEL_URL": self.url,
                "CARELINE_AGENT_AUTH_DOMAIN": self.sign_in_domain.base_url(),
                "CARELINE_AGENT_CLIENT_ID": self.client.user_pool_client_id,
            },
        )
        self._grant(key=key, store=store, sms=sms)
        self._routes()
        self._acknowledge()

    # -- pieces ------------------------------------------------------------------------------------

    def _user_pool(self, stack: cdk.Stack) -> cognito.UserPool:
        return cognito.UserPool(
            self,
            "Staff",
            user_pool_name=f"{stack.stack_name}-staff",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(username=True, email=True),
            sign_in_case_sensitive=False,
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True)
            ),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            password_policy=cognito.PasswordPolicy(
                min_length=14,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=cdk.Duration.days(3),
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            user_invitation=cognito.UserInvitationConfig(
                email_subject="Your Careline agent panel account",
                email_body="Your user name is {username} and your temporary password is {####}. "
                "Sign in to the agent panel and set up your authenticator app.",
            ),
            deletion_protection=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )

    def _grant(self, *, key: kms.IKey, store: ConversationStore, sms: SmsChannel) -> None:
        fn = self.handler
        # reads of contexts, timelines and escalations; the audit record and a staff reply (PutItem);
        # accept, close and the conversation's owner (UpdateItem); the queue index (Query)
        fn.allow(TABLE_ACTIONS, [store.table.table_arn])
        fn.allow(["dynamodb:Query"], store.index_arns)
        fn.allow(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], [key.key_arn])
        fn.allow(["sms-voice:SendTextMessage"], sms.send_resources)

    def allow_task_response(self, state_machine: sfn.IStateMachine) -> None:
        """Accepting resumes the escalation workflow's wait (SendTaskSuccess with the stored task
        token): granted on that state machine only, as CDK's own grantTaskResponse scopes it."""
        self.handler.allow(["states:SendTaskSuccess"], [state_machine.state_machine_arn])

    def _routes(self) -> None:
        api = self.api
        integration = apigw.LambdaIntegration(self.handler.function, proxy=True, allow_test_invoke=False)
        authorizer = apigw.CognitoUserPoolsAuthorizer(
            self,
            "StaffAuthorizer",
            cognito_user_pools=[self.user_pool],
            authorizer_name="careline-staff",
            identity_source="method.request.header.Authorization",
            results_cache_ttl=cdk.Duration.minutes(5),
        )
        signed_in = {"authorizer": authorizer, "authorization_type": apigw.AuthorizationType.COGNITO}
        # one validator for both: a read's required `why`, a reply's body against its model
        validator = api.add_request_validator(
            "RequestValidator",
            request_validator_name="parameters-and-body",
            validate_request_parameters=True,
            validate_request_body=True,
        )
        reply_model = api.add_model(
            "ReplyModel",
            content_type="application/json",
            model_name="StaffReply",
            schema=apigw.JsonSchema(
                schema=apigw.JsonSchemaVersion.DRAFT4,
                type=apigw.JsonSchemaType.OBJECT,
                required=["text"],
                additional_properties=False,
                properties={
                    "text": apigw.JsonSchema(
                        type=apigw.JsonSchemaType.STRING, min_length=1, max_length=MAX_REPLY_CHARS
                    )
                },
            ),
        )

        # The page: no data in it, and a browser's navigation carries no token.
        self.page_method = api.root.add_method(
            "GET", integration, authorization_type=apigw.AuthorizationType.NONE
        )
        api.root.add_resource("me").add_method("GET", integration, **signed_in)  # type: ignore[arg-type]
        escalations = api.root.add_resource("escalations")
        escalations.add_method("GET", integration, **signed_in)  # type: ignore[arg-type]
        one = escalations.add_resource("{party_id}").add_resource("{escalation_id}")
        one.add_method(
            "GET",
            integration,
            request_parameters={"method.request.querystring.why": True},
            request_validator=validator,
            **signed_in,  # type: ignore[arg-type]
        )
        one.add_resource("accept").add_method("POST", integration, **signed_in)  # type: ignore[arg-type]
        one.add_resource("reply").add_method(
            "POST",
            integration,
            request_models={"application/json": reply_model},
            request_validator=validator,
            **signed_in,  # type: ignore[arg-type]
        )
        one.add_resource("hand-back").add_method("POST", integration, **signed_in)  # type: ignore[arg-type]

    def _acknowledge(self) -> None:
        cdk.Validations.of(self.handler.function).acknowledge(
            cdk.Acknowledgment(
                id="HIPAA.Security-LambdaDLQ",
                reason="API Gateway invokes the agent API synchronously and returns its answer to the "
                "panel; a DLQ only receives failed asynchronous invocations, and a failed request is "
                "shown to the staff member, who retries it (every action is idempotent).",
            )
        )
        cdk.Validations.of(self.page_method).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-APIG4",
                reason="GET / returns the panel page itself: static HTML and script with no patient "
                "data, which a browser loads by navigation (no token to send); the page then signs in "
                "with Cognito and every data method requires the Cognito authorizer.",
            ),
            cdk.Acknowledgment(
                id="AwsSolutions-COG4",
                reason="GET / returns the panel page itself: static HTML and script with no patient "
                "data, which a browser loads by navigation (no token to send); the page then signs in "
                "with Cognito and every data method requires the Cognito authorizer.",
            ),
        )
        stage = self.api.deployment_stage
        cdk.Validations.of(stage).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-APIG3",
                reason="Every data method requires a Cognito ID token from an MFA sign-in of an "
                "administrator-created account, the stage is throttled, and requests are few (a "
                "practice's staff); a web ACL is left to the practice's own WAF policy "
                "(docs/decisions/0011).",
            ),
            cdk.Acknowledgment(
                id="AwsSolutions-APIG6",
                reason="Execution logging needs an account-wide API Gateway CloudWatch role (one setting "
                "for every API in the account and region) and writes to a log group the stack cannot "
                "encrypt with its key; the stage's CMK-encrypted access logs and the function's own "
                "logs record every request and its outcome.",
            ),
            cdk.Acknowledgment(
                id="HIPAA.Security-APIGWExecutionLoggingEnabled",
                reason="Execution logging needs an account-wide API Gateway CloudWatch role (one setting "
                "for every API in the account and region) and writes to a log group the stack cannot "
                "encrypt with its key; the stage's CMK-encrypted access logs and the function's own "
                "logs record every request and its outcome.",
            ),
            cdk.Acknowledgment(
                id="HIPAA.Security-APIGWCacheEnabledAndEncrypted",
                reason="Responses hold PHI for one signed-in staff member and must be fresh (who owns a "
                "conversation, its latest messages); a stage cache would keep PHI outside the table "
                "and could serve one user's answer to another. Every response is Cache-Control: no-store.",
            ),
            cdk.Acknowledgment(
                id="HIPAA.Security-APIGWSSLEnabled",
                reason="A client certificate lets an HTTP backend authenticate API Gateway; this API's "
                "only integration is a Lambda proxy, invoked by API Gateway with IAM, where no client "
                "certificate is ever presented.",
            ),
        )
