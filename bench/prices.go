package bench

// PricesDate is when the price table was compiled.
const PricesDate = "2026-12-01"

// PricesRegion is the region of every price: US East (N. Virginia), the
// region AWS's pricing pages show first and the local stack's region.
const PricesRegion = "us-east-1"

// Price is one published AWS list price (on-demand, no free tier, no
// savings plans).
type Price struct {
	USD    float64 // per Per units
	Per    float64 // how many units USD buys
	Unit   string  // "GB-second", "request", ...
	Source string  // the pricing page
	// Checked says how the figure was confirmed on PricesDate: "" means
	// it is the list price as known, not re-checked against the page.
	Checked string
}

// Each is the price of one unit.
func (p Price) Each() float64 { return p.USD / p.Per }

// Prices of everything a request of either design bills, us-east-1.
var Prices = struct {
	LambdaGBSecondArm, LambdaGBSecondX86, LambdaRequest Price
	StateTransition                                     Price
	S3Put, S3Get, S3StorageGBMonth, TransferOutGB       Price
	DynamoWRU, DynamoRRU                                Price
	SESEmail, SNSPublish, SNSEmail                      Price
	EventBridgeEvent, KMSRequest, AppSyncOperation      Price
	LogsIngestGB, GuardDutyGB, GuardDutyObject          Price
	EFSStorageGBMonth                                   Price
}{
	LambdaGBSecondArm: Price{USD: 0.0000133334, Per: 1, Unit: "GB-second (arm64)", Source: "https://aws.amazon.com/lambda/pricing/"},
	LambdaGBSecondX86: Price{USD: 0.0000166667, Per: 1, Unit: "GB-second (x86_64)", Source: "https://aws.amazon.com/lambda/pricing/"},
	LambdaRequest:     Price{USD: 0.20, Per: 1e6, Unit: "invocation", Source: "https://aws.amazon.com/lambda/pricing/"},
	StateTransition: Price{USD: 0.025, Per: 1000, Unit: "state transition (Standard)", Source: "https://aws.amazon.com/step-functions/pricing/",
		Checked: "the page's table, US East (N. Virginia) $0.0250 per 1,000"},
	S3Put:            Price{USD: 0.005, Per: 1000, Unit: "PUT, COPY, POST, LIST request (S3 Standard)", Source: "https://aws.amazon.com/s3/pricing/"},
	S3Get:            Price{USD: 0.0004, Per: 1000, Unit: "GET and other request (S3 Standard); DELETE is free", Source: "https://aws.amazon.com/s3/pricing/"},
	S3StorageGBMonth: Price{USD: 0.023, Per: 1, Unit: "GB-month (S3 Standard, first 50 TB)", Source: "https://aws.amazon.com/s3/pricing/"},
	TransferOutGB:    Price{USD: 0.09, Per: 1, Unit: "GB out to the internet (first 10 TB/month)", Source: "https://aws.amazon.com/s3/pricing/"},
	DynamoWRU: Price{USD: 0.625, Per: 1e6, Unit: "write request unit (on-demand)", Source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
		Checked: "after the November 2024 cut, as https://airbyte.com/data-engineering-resources/dynamodb-pricing quotes it (US East)"},
	DynamoRRU: Price{USD: 0.125, Per: 1e6, Unit: "read request unit (on-demand)", Source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
		Checked: "as DynamoWRU"},
	SESEmail:         Price{USD: 0.10, Per: 1000, Unit: "e-mail (each recipient counts)", Source: "https://aws.amazon.com/ses/pricing/"},
	SNSPublish:       Price{USD: 0.50, Per: 1e6, Unit: "publish (standard topic)", Source: "https://aws.amazon.com/sns/pricing/"},
	SNSEmail:         Price{USD: 2.00, Per: 100000, Unit: "e-mail notification", Source: "https://aws.amazon.com/sns/pricing/"},
	EventBridgeEvent: Price{USD: 1.00, Per: 1e6, Unit: "custom event (64 KB chunk)", Source: "https://aws.amazon.com/eventbridge/pricing/"},
	KMSRequest:       Price{USD: 0.03, Per: 10000, Unit: "request (symmetric key)", Source: "https://aws.amazon.com/kms/pricing/"},
	AppSyncOperation: Price{USD: 4.00, Per: 1e6, Unit: "query or mutation operation", Source: "https://aws.amazon.com/appsync/pricing/"},
	LogsIngestGB:     Price{USD: 0.50, Per: 1, Unit: "GB of logs ingested (Standard)", Source: "https://aws.amazon.com/cloudwatch/pricing/"},
	// GuardDuty publishes these on the page's tables, which render by
	// region; the 2024 launch prices, as known (a later reduction may apply).
	GuardDutyGB:       Price{USD: 0.09, Per: 1, Unit: "GB scanned (Malware Protection for S3)", Source: "https://aws.amazon.com/guardduty/pricing/"},
	GuardDutyObject:   Price{USD: 0.215, Per: 1000, Unit: "object evaluated (Malware Protection for S3)", Source: "https://aws.amazon.com/guardduty/pricing/"},
	EFSStorageGBMonth: Price{USD: 0.30, Per: 1, Unit: "GB-month (EFS Standard, bursting throughput)", Source: "https://aws.amazon.com/efs/pricing/"},
}
