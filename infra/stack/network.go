package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsefs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
)

// network creates, only when efs_mount_path is set, the VPC and EFS
// scratch space the release function builds zips in. The VPC has private
// subnets without a route out: the function reaches S3 and DynamoDB, all
// it calls, through gateway endpoints.
func (b *builder) network() {
	if b.cfg.EFSMountPath == "" {
		return
	}
	flowLogs := awslogs.NewLogGroup(b.stack, jsii.String("VpcFlowLogs"), &awslogs.LogGroupProps{
		Retention:     b.logRetention(),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	b.vpc = awsec2.NewVpc(b.stack, jsii.String("Vpc"), &awsec2.VpcProps{
		MaxAzs:      jsii.Number(2),
		NatGateways: jsii.Number(0),
		SubnetConfiguration: &[]*awsec2.SubnetConfiguration{{
			Name:       jsii.String("private"),
			SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED,
			CidrMask:   jsii.Number(24),
		}},
		GatewayEndpoints: &map[string]*awsec2.GatewayVpcEndpointOptions{
			"S3":       {Service: awsec2.GatewayVpcEndpointAwsService_S3()},
			"DynamoDB": {Service: awsec2.GatewayVpcEndpointAwsService_DYNAMODB()},
		},
		FlowLogs: &map[string]*awsec2.FlowLogOptions{
			"FlowLog": {
				Destination: awsec2.FlowLogDestination_ToCloudWatchLogs(flowLogs, nil),
				TrafficType: awsec2.FlowLogTrafficType_ALL,
			},
		},
		// Restricting the default security group takes a custom-resource
		// Lambda with broad EC2 rights; nothing uses that group.
		RestrictDefaultSecurityGroup: jsii.Bool(false),
	})
	b.releaseGroup = awsec2.NewSecurityGroup(b.stack, jsii.String("ReleaseSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              b.vpc,
		Description:      jsii.String("egress release function: NFS to the scratch file system, HTTPS to the gateway endpoints"),
		AllowAllOutbound: jsii.Bool(false),
	})
	// The subnets' only routes out are the S3 and DynamoDB gateway
	// endpoints; the NFS rule comes with the file system mount.
	b.releaseGroup.AddEgressRule(awsec2.Peer_AnyIpv4(), awsec2.Port_Tcp(jsii.Number(443)),
		jsii.String("HTTPS to S3 and DynamoDB through the gateway endpoints"), nil)
	fs := awsefs.NewFileSystem(b.stack, jsii.String("ZipScratch"), &awsefs.FileSystemProps{
		Vpc:                    b.vpc,
		VpcSubnets:             &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED},
		Encrypted:              jsii.Bool(true),
		PerformanceMode:        awsefs.PerformanceMode_GENERAL_PURPOSE,
		ThroughputMode:         awsefs.ThroughputMode_ELASTIC,
		AllowAnonymousAccess:   jsii.Bool(false),
		EnableAutomaticBackups: jsii.Bool(false),
		// Scratch space only: each zip is removed once uploaded.
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	b.scratch = fs.AddAccessPoint(jsii.String("ZipAccessPoint"), &awsefs.AccessPointOptions{
		Path:      jsii.String("/egress-zip"),
		CreateAcl: &awsefs.Acl{OwnerUid: jsii.String("1001"), OwnerGid: jsii.String("1001"), Permissions: jsii.String("750")},
		PosixUser: &awsefs.PosixUser{Uid: jsii.String("1001"), Gid: jsii.String("1001")},
	})
}
