"""The optional VPC: parameters, conditions and gateway endpoints for a VPC-only OpenSearch domain.

Without subnets the functions run outside any VPC and nothing here is
emitted into their configuration (the conditions resolve to
``AWS::NoValue``). With them, the functions reach a VPC-only domain; their
DynamoDB calls (join reads, fan-out queries, the control table) then leave
from private subnets, which have no route to DynamoDB unless a NAT gateway
or a gateway endpoint gives one: with route table ids, a DynamoDB gateway
endpoint (and one for S3, which replays from exports read) is created.
"""

from __future__ import annotations

from dynafold.deploy.cfn import NO_VALUE, and_, equals, if_, join, not_, ref, sub

PARAMETERS = {
    "SubnetIds": {"Type": "CommaDelimitedList", "Default": "",
                  "Description": "Private subnets for the functions (empty: no VPC); needed for a VPC-only domain"},
    "SecurityGroupIds": {"Type": "CommaDelimitedList", "Default": "",
                         "Description": "Security groups for the functions in the VPC (must reach the domain on 443)"},
    "VpcId": {"Type": "String", "Default": "", "Description": "The VPC of SubnetIds, for the gateway endpoints"},
    "RouteTableIds": {"Type": "CommaDelimitedList", "Default": "",
                      "Description": "Route tables of SubnetIds: creates DynamoDB and S3 gateway endpoints "
                                     "(empty: the subnets already reach DynamoDB, e.g. through a NAT gateway)"},
}

CONDITIONS = {
    "InVpc": not_(equals(join("", ref("SubnetIds")), "")),
    "CreateGatewayEndpoints": and_(
        {"Condition": "InVpc"},
        not_(equals(ref("VpcId"), "")),
        not_(equals(join("", ref("RouteTableIds")), "")),
    ),
}

VPC_CONFIG = if_("InVpc", {"SubnetIds": ref("SubnetIds"), "SecurityGroupIds": ref("SecurityGroupIds")}, NO_VALUE)


def endpoints() -> dict:
    def gateway(service: str) -> dict:
        return {"Type": "AWS::EC2::VPCEndpoint", "Condition": "CreateGatewayEndpoints", "Properties": {
            "VpcEndpointType": "Gateway",
            "ServiceName": sub(f"com.amazonaws.${{AWS::Region}}.{service}"),
            "VpcId": ref("VpcId"),
            "RouteTableIds": ref("RouteTableIds"),
        }}

    return {"DynamoDbGatewayEndpoint": gateway("dynamodb"), "S3GatewayEndpoint": gateway("s3")}
