"""The agent panel's infrastructure: staff sign-in, the API with its Cognito authorizer on every data
method, the function's least-privilege grants, and the page route."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.agent_panel import (
    AGENT_API_CONCURRENCY,
    MAX_REPLY_CHARS,
    STAGE_NAME,
    THROTTLE_BURST,
    THROTTLE_RATE,
    sign_in_domain_prefix,
)
from tests.infra.synthesis import ACCOUNT, REGION, STACK_NAME, Synthesized, arn_of, ref

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]


def _id(synth: Synthesized, resource_type: str, prefix: str = "") -> str:
    (logical_id,) = [name for name in synth.resources(resource_type) if name.startswith(prefix)]
    return logical_id


def _props(synth: Synthesized, resource_type: str, prefix: str = "") -> dict[str, Any]:
    props: dict[str, Any] = synth.template_json["Resources"][_id(synth, resource_type, prefix)]["Properties"]
    return props


def _as_tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, list) else (value,)


def _methods(synth: Synthesized) -> dict[tuple[str, str], dict[str, Any]]:
    """Each API method by (HTTP method, path), the path rebuilt from the resource tree."""
    resources = synth.resources("AWS::ApiGateway::Resource")

    def path_of(resource_id: Any) -> str:
        if isinstance(resource_id, dict) and "Fn::GetAtt" in resource_id:
            return ""  # the API's root resource
        props = resources[resource_id["Ref"]]["Properties"]
        return f"{path_of(props['ParentId'])}/{props['PathPart']}"

    return {
        (m["Properties"]["HttpMethod"], path_of(m["Properties"]["ResourceId"]) or "/"): m["Properties"]
        for m in synth.resources("AWS::ApiGateway::Method").values()
    }


# -- staff sign-in -----------------------------------------------------------------------------


def test_staff_accounts_are_admin_created_with_mfa_a_strong_password_and_threat_protection(
    synth: Synthesized,
) -> None:
    pool = _props(synth, "AWS::Cognito::UserPool", "AgentPanel")
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["MfaConfiguration"] == "ON"
    assert pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert pool["Policies"]["PasswordPolicy"] == {
        "MinimumLength": 14,
        "RequireLowercase": True,
        "RequireNumbers": True,
        "RequireSymbols": True,
        "RequireUppercase": True,
        "TemporaryPasswordValidityDays": 3,
    }
    assert pool["UserPoolTier"] == "PLUS"
    assert pool["UserPoolAddOns"] == {"AdvancedSecurityMode": "ENFORCED"}
    assert pool["DeletionProtection"] == "ACTIVE"
    resource = synth.template_json["Resources"][_id(synth, "AWS::Cognito::UserPool", "AgentPanel")]
    assert resource["DeletionPolicy"] == "Retain"


def test_the_four_staff_groups_exist(synth: Synthesized) -> None:
    groups = {
        g["Properties"]["GroupName"]: g["Properties"]
        for g in synth.resources("AWS::Cognito::UserPoolGroup").values()
    }
    assert sorted(groups) == ["billing", "front_desk", "nurse", "supervisor"]
    pool = ref(_id(synth, "AWS::Cognito::UserPool", "AgentPanel"))
    assert all(g["UserPoolId"] == pool for g in groups.values())
    assert groups["supervisor"]["Precedence"] < groups["nurse"]["Precedence"]


def test_the_panel_client_is_public_with_the_code_flow_back_to_the_panel_only(synth: Synthesized) -> None:
    client = _props(synth, "AWS::Cognito::UserPoolClient", "AgentPanel")
    api = ref(_id(synth, "AWS::ApiGateway::RestApi", "AgentPanel"))
    panel_url = {
        "Fn::Join": [
            "",
            ["https://", api, f".execute-api.{REGION}.", {"Ref": "AWS::URLSuffix"}, f"/{STAGE_NAME}/"],
        ]
    }
    assert client["GenerateSecret"] is False
    assert client["AllowedOAuthFlows"] == ["code"]
    assert client["AllowedOAuthScopes"] == ["openid", "email", "profile"]
    assert client["CallbackURLs"] == [panel_url]
    assert client["LogoutURLs"] == [panel_url]
    assert client["SupportedIdentityProviders"] == ["COGNITO"]
    assert client["PreventUserExistenceErrors"] == "ENABLED"
    assert client["IdTokenValidity"] == 60
    domain = _props(synth, "AWS::Cognito::UserPoolDomain", "AgentPanel")
    assert domain["Domain"] == sign_in_domain_prefix(STACK_NAME, ACCOUNT) == "carelinetest-staff-111122223333"


@pytest.mark.parametrize(
    ("stack_name", "prefix"),
    [("Careline", "careline-staff-1"), ("AWS_Cognito-Clinic", "x-x-clinic-staff-1"), ("A" * 80, "a" * 63)],
)
def test_the_sign_in_domain_prefix_is_one_cognito_accepts(stack_name: str, prefix: str) -> None:
    assert sign_in_domain_prefix(stack_name, "1") == prefix


# -- the API -----------------------------------------------------------------------------------


def test_every_data_method_requires_the_cognito_authorizer_and_only_the_page_does_not(
    synth: Synthesized,
) -> None:
    authorizer = _props(synth, "AWS::ApiGateway::Authorizer", "AgentPanel")
    assert authorizer["Type"] == "COGNITO_USER_POOLS"
    assert authorizer["ProviderARNs"] == [arn_of(_id(synth, "AWS::Cognito::UserPool", "AgentPanel"))]
    assert authorizer["IdentitySource"] == "method.request.header.Authorization"

    methods = _methods(synth)
    assert sorted(methods) == [
        ("GET", "/"),
        ("GET", "/escalations"),
        ("GET", "/escalations/{party_id}/{escalation_id}"),
        ("GET", "/me"),
        ("POST", "/escalations/{party_id}/{escalation_id}/accept"),
        ("POST", "/escalations/{party_id}/{escalation_id}/hand-back"),
        ("POST", "/escalations/{party_id}/{escalation_id}/reply"),
    ]
    authorizer_ref = ref(_id(synth, "AWS::ApiGateway::Authorizer", "AgentPanel"))
    for key, method in methods.items():
        if key == ("GET", "/"):
            assert method["AuthorizationType"] == "NONE"
            continue
        assert method["AuthorizationType"] == "COGNITO_USER_POOLS", key
        assert method["AuthorizerId"] == authorizer_ref, key
    function = arn_of(_id(synth, "AWS::Lambda::Function", "AgentPanel"))
    for method in methods.values():
        assert method["Integration"]["Type"] == "AWS_PROXY"
        assert function in method["Integration"]["Uri"]["Fn::Join"][1]


def test_a_read_needs_its_why_and_a_reply_its_text_before_the_function_runs(synth: Synthesized) -> None:
    methods = _methods(synth)
    validator = _props(synth, "AWS::ApiGateway::RequestValidator", "AgentPanel")
    assert (validator["ValidateRequestBody"], validator["ValidateRequestParameters"]) == (True, True)
    validator_ref = ref(_id(synth, "AWS::ApiGateway::RequestValidator", "AgentPanel"))

    view = methods[("GET", "/escalations/{party_id}/{escalation_id}")]
    assert view["RequestParameters"] == {"method.request.querystring.why": True}
    assert view["RequestValidatorId"] == validator_ref

    reply = methods[("POST", "/escalations/{party_id}/{escalation_id}/reply")]
    assert reply["RequestValidatorId"] == validator_ref
    model = _props(synth, "AWS::ApiGateway::Model", "AgentPanel")
    assert reply["RequestModels"] == {
        "application/json": ref(_id(synth, "AWS::ApiGateway::Model", "AgentPanel"))
    }
    assert model["Schema"]["required"] == ["text"]
    assert model["Schema"]["additionalProperties"] is False
    assert model["Schema"]["properties"]["text"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_REPLY_CHARS,
    }


def test_the_stage_is_throttled_traced_and_access_logged_to_a_cmk_encrypted_group(synth: Synthesized) -> None:
    stage = _props(synth, "AWS::ApiGateway::Stage", "AgentPanel")
    assert stage["StageName"] == STAGE_NAME
    assert stage["TracingEnabled"] is True
    assert stage["MethodSettings"] == [
        {
            "DataTraceEnabled": False,
            "HttpMethod": "*",
            "MetricsEnabled": True,
            "ResourcePath": "/*",
            "ThrottlingBurstLimit": THROTTLE_BURST,
            "ThrottlingRateLimit": THROTTLE_RATE,
        }
    ]
    logs_id = _id(synth, "AWS::Logs::LogGroup", "AgentPanelAccessLogs")
    assert stage["AccessLogSetting"]["DestinationArn"] == arn_of(logs_id)
    log_format = json.loads(stage["AccessLogSetting"]["Format"])
    assert log_format["user"] == "$context.authorizer.claims.sub"
    # the resource template, never the path's values or a query string
    assert log_format["resourcePath"] == "$context.resourcePath"
    assert not [v for v in log_format.values() if "path" in v.lower() and v != "$context.resourcePath"]
    group = _props(synth, "AWS::Logs::LogGroup", "AgentPanelAccessLogs")
    assert group["KmsKeyId"] == arn_of(_id(synth, "AWS::KMS::Key"))
    assert group["RetentionInDays"] == 365
    api = _props(synth, "AWS::ApiGateway::RestApi", "AgentPanel")
    assert api["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    synth.template.resource_count_is("AWS::ApiGateway::Account", 0)


# -- the function ------------------------------------------------------------------------------


def test_the_function_gets_the_table_the_key_the_sender_and_the_panel_sign_in(synth: Synthesized) -> None:
    props = _props(synth, "AWS::Lambda::Function", "AgentPanel")
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["arm64"]
    assert props["ReservedConcurrentExecutions"] == AGENT_API_CONCURRENCY
    variables = props["Environment"]["Variables"]
    assert {k: v for k, v in variables.items() if k.startswith("CARELINE_")} == {
        "CARELINE_CONFIG_PATH": "/opt/python/careline_config/practice.yaml",
        "CARELINE_TABLE_NAME": ref(_id(synth, "AWS::DynamoDB::GlobalTable")),
        "CARELINE_KMS_KEY_ARN": arn_of(_id(synth, "AWS::KMS::Key")),
        "CARELINE_ORIGINATION_IDENTITY": arn_of(_id(synth, "AWS::SMSVOICE::PhoneNumber")),
        "CARELINE_SMS_CONFIGURATION_SET": ref(_id(synth, "AWS::SMSVOICE::ConfigurationSet")),
        "CARELINE_MESSENGER": "sms",
        "CARELINE_AGENT_PANEL_URL": _props(synth, "AWS::Cognito::UserPoolClient", "AgentPanel")[
            "CallbackURLs"
        ][0],
        "CARELINE_AGENT_AUTH_DOMAIN": {
            "Fn::Join": [
                "",
                [
                    "https://",
                    ref(_id(synth, "AWS::Cognito::UserPoolDomain")),
                    f".auth.{REGION}.amazoncognito.com",
                ],
            ]
        },
        "CARELINE_AGENT_CLIENT_ID": ref(_id(synth, "AWS::Cognito::UserPoolClient", "AgentPanel")),
    }
    # no hash secret: the API is given party ids, it never hashes a number
    assert "CARELINE_HASH_SECRET_ARN" not in variables


def test_the_function_is_granted_exactly_what_the_panel_uses(synth: Synthesized) -> None:
    role = ref(_id(synth, "AWS::IAM::Role", "AgentPanel"))
    policies = {
        name: p["Properties"]
        for name, p in synth.resources("AWS::IAM::ManagedPolicy").items()
        if name.startswith("AgentPanel")
    }
    assert all(p["Roles"] == [role] for p in policies.values())
    grants = {
        _as_tuple(s["Action"]): s["Resource"]
        for p in policies.values()
        for s in p["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow"
    }
    table = arn_of(_id(synth, "AWS::DynamoDB::GlobalTable"))
    assert grants == {
        ("logs:CreateLogStream", "logs:PutLogEvents"): arn_of(
            _id(synth, "AWS::Logs::LogGroup", "AgentPanelAgentApi")
        ),
        ("xray:PutTraceSegments", "xray:PutTelemetryRecords"): "*",
        ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"): table,
        ("dynamodb:Query",): {"Fn::Join": ["", [table, "/index/gsi1"]]},
        ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"): arn_of(_id(synth, "AWS::KMS::Key")),
        ("sms-voice:SendTextMessage",): [
            arn_of(_id(synth, "AWS::SMSVOICE::PhoneNumber")),
            arn_of(_id(synth, "AWS::SMSVOICE::ConfigurationSet")),
        ],
        # accept resumes the escalation workflow's wait: that state machine only
        ("states:SendTaskSuccess",): ref(_id(synth, "AWS::StepFunctions::StateMachine", "Escalation")),
    }
    role_props = _props(synth, "AWS::IAM::Role", "AgentPanel")
    assert "Policies" not in role_props
    assert "ManagedPolicyArns" not in role_props


def test_only_api_gateway_invokes_the_function_and_only_through_this_api(synth: Synthesized) -> None:
    function = arn_of(_id(synth, "AWS::Lambda::Function", "AgentPanel"))
    api = ref(_id(synth, "AWS::ApiGateway::RestApi", "AgentPanel"))
    permissions = [
        p["Properties"]
        for p in synth.resources("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == function
    ]
    assert len(permissions) == 7  # one per method
    for permission in permissions:
        assert permission["Principal"] == "apigateway.amazonaws.com"
        assert api in permission["SourceArn"]["Fn::Join"][1]
        assert "test-invoke-stage" not in json.dumps(permission["SourceArn"])


def test_the_panel_address_and_user_pool_are_stack_outputs(synth_phone_line: Synthesized) -> None:
    outputs = synth_phone_line.template_json["Outputs"]
    assert (
        outputs["AgentPanelUrl"]["Value"]
        == _props(synth_phone_line, "AWS::Cognito::UserPoolClient", "AgentPanel")["CallbackURLs"][0]
    )
    assert outputs["StaffUserPoolId"]["Value"] == ref(
        _id(synth_phone_line, "AWS::Cognito::UserPool", "AgentPanel")
    )
    assert not [name for name in outputs if name.startswith("AgentPanelApiEndpoint")]
