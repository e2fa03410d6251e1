package iam

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Resolver supplies what a template leaves to its deployment: where it
// runs and the physical names of its resources, here the local stack's.
type Resolver struct {
	Region    string
	Account   string
	Partition string // default "aws"
	URLSuffix string // default "amazonaws.com"
	// Names maps a resource's logical id ("RequestsTable419243C7") or
	// construct id ("RequestsTable") to its physical name: a bucket, table,
	// topic, state machine or configuration set name, a user pool or key id,
	// a function or role name. A resource without one falls back to a
	// literal name property in the template (TableName, EmailIdentity…).
	Names map[string]string
	// Rewrite maps names the template spells out literally, such as SWB's
	// resources in another account, to local ones. Each resolved resource
	// and condition value equal to a key, or starting with a key followed by
	// "/" or ":", has that prefix replaced.
	Rewrite map[string]string
}

func (r Resolver) partition() string { return cmp.Or(r.Partition, "aws") }
func (r Resolver) urlSuffix() string { return cmp.Or(r.URLSuffix, "amazonaws.com") }

// rewrite applies Resolver.Rewrite to one resolved value, longest key first.
func (r Resolver) rewrite(s string) string {
	keys := make([]string, 0, len(r.Rewrite))
	for k := range r.Rewrite {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, k := range keys {
		if s == k {
			return r.Rewrite[k]
		}
		if strings.HasPrefix(s, k) && (s[len(k)] == '/' || s[len(k)] == ':') {
			return r.Rewrite[k] + s[len(k):]
		}
	}
	return s
}

// Policies are the identity policies of every function of a template.
type Policies struct {
	Resolver  Resolver
	Functions map[string]*Role // by the function's construct id
}

// Role is one function's execution role.
type Role struct {
	Function          string // construct id, "CopyToStaging"
	FunctionLogicalID string // "CopyToStagingEE797692"
	RoleLogicalID     string
	// Principal is the ARN of the role session the function runs as, as
	// AWS names it in an AccessDenied message.
	Principal  string
	Statements []Statement // statements of the services checked locally (S3 included)
	Skipped    []Skipped   // statements, or actions of them, not checked locally
}

// Skipped is a statement, or part of one, that is not checked locally.
type Skipped struct {
	Policy    string
	Statement int
	Actions   []string
	Reason    string
}

// Effect is a statement's effect.
type Effect string

const (
	Allow Effect = "Allow"
	Deny  Effect = "Deny"
)

// Statement is one resolved policy statement.
type Statement struct {
	Policy     string // logical id of the policy, or "<role>/<policy name>" for inline ones
	Index      int    // position in the policy document
	Sid        string
	Effect     Effect
	Actions    []string
	Resources  []string
	Conditions []Condition
}

// Condition is one test of a statement's Condition block.
type Condition struct {
	Operator string // StringEquals, StringLike…
	Key      string // ses:FromAddress, s3:prefix…
	Values   []string
}

// enforced names the services whose calls are checked locally (S3 partly
// in process, fully by MinIO), with the condition keys their requests carry.
var enforced = map[string][]string{
	"dynamodb":    nil,
	"states":      nil,
	"ses":         {"ses:FromAddress", "ses:ApiVersion"},
	"sns":         nil,
	"cognito-idp": nil,
	"s3":          {"s3:prefix"},
	"events":      nil,
}

// notEnforced are services whose statements are skipped, with the reason.
var notEnforced = map[string]string{
	"logs":              "CloudWatch Logs: written by the Lambda service, not by the function's code",
	"xray":              "X-Ray: written by the Lambda service (active tracing)",
	"kms":               "KMS: called by DynamoDB and S3 on the function's behalf (kms:ViaService); local servers do not encrypt with KMS",
	"ec2":               "EC2: network interfaces managed by the Lambda service for VPC functions",
	"elasticfilesystem": "EFS: mounted by the Lambda service",
	"sqs":               "SQS: dead-letter queue written by the Lambda service",
	"lambda":            "Lambda: invoked by other services, not by the functions",
	"iam":               "IAM: not called by the functions",
}

// conditionOperators are the operators Authorize evaluates.
var conditionOperators = []string{
	"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
	"StringLike", "StringNotLike",
}

// LoadFile reads a template file and calls Load.
func LoadFile(path string, r Resolver) (*Policies, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("iam: %w", err)
	}
	p, err := Load(b, r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

type resource struct {
	Type       string         `json:"Type"`
	Properties map[string]any `json:"Properties"`
	Metadata   map[string]any `json:"Metadata"`
}

type template struct {
	Parameters map[string]any       `json:"Parameters"`
	Resources  map[string]*resource `json:"Resources"`
}

// Load returns the identity policies of every AWS::Lambda::Function of a
// CloudFormation template: the AWS::IAM::Policy and AWS::IAM::ManagedPolicy
// resources attached to its role and the role's inline policies, resolved
// with r. A statement of a checked service that cannot be resolved or uses
// a shape or condition Authorize does not evaluate is an error, so nothing
// is silently allowed or refused.
func Load(tmpl []byte, r Resolver) (*Policies, error) {
	var t template
	if err := json.Unmarshal(tmpl, &t); err != nil {
		return nil, fmt.Errorf("iam: template: %w", err)
	}
	for id, res := range t.Resources {
		if res == nil {
			return nil, fmt.Errorf("iam: template: resource %s is null", id)
		}
	}
	if r.Region == "" || r.Account == "" {
		return nil, errors.New("iam: the resolver needs a region and an account")
	}
	p := &Policies{Resolver: r, Functions: map[string]*Role{}}
	ids := sortedKeys(t.Resources)
	for _, id := range ids {
		res := t.Resources[id]
		if res.Type != "AWS::Lambda::Function" {
			continue
		}
		role, err := t.role(id, r)
		if err != nil {
			return nil, fmt.Errorf("iam: function %s: %w", id, err)
		}
		if prev, ok := p.Functions[role.Function]; ok {
			return nil, fmt.Errorf("iam: functions %s and %s share the construct id %s", prev.FunctionLogicalID, id, role.Function)
		}
		p.Functions[role.Function] = role
	}
	return p, nil
}

// constructID is a resource's id in its construct path without the stack
// and the trailing "Resource" ("egress-Sample/CopyToStaging/Resource" →
// "CopyToStaging"), or its logical id without a path.
func (t *template) constructID(id string) string {
	path, _ := t.Resources[id].Metadata["aws:cdk:path"].(string)
	parts := strings.Split(path, "/")
	if len(parts) < 2 {
		return id
	}
	parts = parts[1:]
	if parts[len(parts)-1] == "Resource" && len(parts) > 1 {
		parts = parts[:len(parts)-1]
	}
	return strings.Join(parts, "/")
}

func (t *template) role(fnID string, r Resolver) (*Role, error) {
	fn := t.Resources[fnID]
	roleRef, ok := fn.Properties["Role"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("Role is %s, not Fn::GetAtt of a role in the template", jsonText(fn.Properties["Role"]))
	}
	att, _ := roleRef["Fn::GetAtt"].([]any)
	if len(att) != 2 || att[1] != "Arn" {
		return nil, fmt.Errorf("Role is %s, not Fn::GetAtt [role, Arn]", jsonText(roleRef))
	}
	roleID, _ := att[0].(string)
	roleRes, ok := t.Resources[roleID]
	if !ok || roleRes.Type != "AWS::IAM::Role" {
		return nil, fmt.Errorf("role %s is not an AWS::IAM::Role of the template", roleID)
	}
	rv := &resolver{t: t, r: r}
	roleName, err := rv.name(roleID)
	if err != nil {
		roleName = t.constructID(roleID)
	}
	fnName, err := rv.name(fnID)
	if err != nil {
		fnName = t.constructID(fnID)
	}
	role := &Role{
		Function:          t.constructID(fnID),
		FunctionLogicalID: fnID,
		RoleLogicalID:     roleID,
		Principal:         "arn:" + r.partition() + ":sts::" + r.Account + ":assumed-role/" + roleName + "/" + fnName,
	}

	var docs []policyDoc
	for _, id := range sortedKeys(t.Resources) {
		res := t.Resources[id]
		if res.Type != "AWS::IAM::Policy" && res.Type != "AWS::IAM::ManagedPolicy" {
			continue
		}
		if attachedTo(res.Properties["Roles"], roleID) {
			docs = append(docs, policyDoc{id, res.Properties["PolicyDocument"]})
		}
	}
	if inline, ok := roleRes.Properties["Policies"].([]any); ok {
		for i, p := range inline {
			m, _ := p.(map[string]any)
			name, _ := m["PolicyName"].(string)
			if name == "" {
				name = strconv.Itoa(i)
			}
			docs = append(docs, policyDoc{roleID + "/" + name, m["PolicyDocument"]})
		}
	}
	if managed, ok := roleRes.Properties["ManagedPolicyArns"].([]any); ok {
		for _, m := range managed {
			d, skip, err := t.managedPolicy(m, roleID)
			switch {
			case err != nil:
				return nil, err
			case d != nil:
				docs = append(docs, *d)
			case skip:
				role.Skipped = append(role.Skipped, Skipped{Policy: jsonText(m), Reason: "AWS managed policy for the Lambda service (logs, tracing, network interfaces)"})
			}
		}
	}
	for _, d := range docs {
		if err := role.addDocument(rv, d.name, d.body); err != nil {
			return nil, err
		}
	}
	return role, nil
}

// policyDoc is a policy document and the name it is reported under.
type policyDoc struct {
	name string
	body any
}

// lambdaManaged are AWS managed policies CDK attaches to function roles;
// they grant only services that are not checked locally.
var lambdaManaged = []string{
	"service-role/AWSLambdaBasicExecutionRole",
	"service-role/AWSLambdaVPCAccessExecutionRole",
	"AWSXRayDaemonWriteAccess",
}

// managedPolicy returns the document of a ManagedPolicyArns entry that is a
// policy of the template (nil if its Roles already attach it), skip for an
// AWS managed policy of the Lambda service, and an error for any other: its
// content is unknown here.
func (t *template) managedPolicy(v any, roleID string) (doc *policyDoc, skip bool, err error) {
	if m, ok := v.(map[string]any); ok {
		if id, ok := m["Ref"].(string); ok {
			if res, ok := t.Resources[id]; ok && res.Type == "AWS::IAM::ManagedPolicy" {
				if attachedTo(res.Properties["Roles"], roleID) {
					return nil, false, nil
				}
				return &policyDoc{id, res.Properties["PolicyDocument"]}, false, nil
			}
		}
	}
	s := jsonText(v)
	for _, name := range lambdaManaged {
		if strings.Contains(s, ":iam::aws:policy/"+name+`"`) {
			return nil, true, nil
		}
	}
	return nil, false, fmt.Errorf("role %s: managed policy %s: its statements are not in the template", roleID, s)
}

func attachedTo(roles any, roleID string) bool {
	list, _ := roles.([]any)
	for _, r := range list {
		if m, ok := r.(map[string]any); ok && m["Ref"] == roleID {
			return true
		}
	}
	return false
}

// addDocument resolves a policy document's statements into the role.
func (role *Role) addDocument(rv *resolver, name string, body any) error {
	d, ok := body.(map[string]any)
	if !ok {
		return fmt.Errorf("policy %s: PolicyDocument is %s", name, jsonText(body))
	}
	var statements []any
	switch s := d["Statement"].(type) {
	case []any:
		statements = s
	case map[string]any:
		statements = []any{s}
	default:
		return fmt.Errorf("policy %s: Statement is %s", name, jsonText(d["Statement"]))
	}
	for i, raw := range statements {
		if err := role.addStatement(rv, name, i, raw); err != nil {
			return fmt.Errorf("policy %s statement %d: %w", name, i, err)
		}
	}
	return nil
}

func (role *Role) addStatement(rv *resolver, policy string, index int, raw any) error {
	s, ok := raw.(map[string]any)
	if !ok {
		return fmt.Errorf("statement is %s", jsonText(raw))
	}
	for k := range s {
		if !slices.Contains([]string{"Sid", "Effect", "Action", "Resource", "Condition"}, k) {
			// NotAction, NotResource and Principal change what a statement
			// means; evaluating them as if absent would be wrong.
			return fmt.Errorf("%s is not supported in an identity policy statement here", k)
		}
	}
	st := Statement{Policy: policy, Index: index}
	st.Sid, _ = s["Sid"].(string)
	switch e := s["Effect"]; e {
	case "Allow":
		st.Effect = Allow
	case "Deny":
		st.Effect = Deny
	default:
		return fmt.Errorf("Effect %s", jsonText(e))
	}
	actions, err := stringList(s["Action"])
	if err != nil || len(actions) == 0 {
		return fmt.Errorf("Action %s: want a string or a list of strings", jsonText(s["Action"]))
	}

	// Split the actions: those of checked services stay; the others are
	// reported as skipped, with the reason.
	var skipped []string
	reasons := map[string]bool{}
	for _, a := range actions {
		service, _, ok := strings.Cut(a, ":")
		if a == "*" {
			service, ok = "*", true
		}
		if !ok {
			return fmt.Errorf("action %q is not service:Action", a)
		}
		service = strings.ToLower(service)
		if _, ok := enforced[service]; ok || service == "*" {
			st.Actions = append(st.Actions, a)
			continue
		}
		reason, known := notEnforced[service]
		if !known {
			// A service nobody decided about: keep it, so a call to it is
			// refused for want of a mapping rather than forgotten.
			if strings.ContainsAny(service, "*?") {
				return fmt.Errorf("action %q: wildcard service", a)
			}
			st.Actions = append(st.Actions, a)
			continue
		}
		skipped = append(skipped, a)
		reasons[reason] = true
	}
	if len(skipped) > 0 {
		role.Skipped = append(role.Skipped, Skipped{Policy: policy, Statement: index, Actions: skipped, Reason: strings.Join(sortedKeys(reasons), "; ")})
	}
	if len(st.Actions) == 0 {
		return nil
	}

	resources, err := rv.list(s["Resource"])
	if err != nil {
		return fmt.Errorf("Resource: %w", err)
	}
	if len(resources) == 0 {
		return errors.New("no Resource")
	}
	for i := range resources {
		resources[i] = rv.r.rewrite(resources[i])
	}
	st.Resources = resources
	if c, ok := s["Condition"]; ok {
		if st.Conditions, err = rv.conditions(c, st.Actions); err != nil {
			return fmt.Errorf("Condition: %w", err)
		}
	}
	role.Statements = append(role.Statements, st)
	return nil
}

// conditions resolves a Condition block, refusing operators and keys
// Authorize does not evaluate for the statement's services.
func (rv *resolver) conditions(v any, actions []string) ([]Condition, error) {
	block, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s is not an object", jsonText(v))
	}
	keys := map[string]bool{}
	for _, a := range actions {
		service, _, _ := strings.Cut(strings.ToLower(a), ":")
		for _, k := range enforced[service] {
			keys[strings.ToLower(k)] = true
		}
	}
	var out []Condition
	for _, op := range sortedKeys(block) {
		if !slices.Contains(conditionOperators, op) {
			return nil, fmt.Errorf("operator %s is not supported", op)
		}
		tests, ok := block[op].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: %s is not an object", op, jsonText(block[op]))
		}
		for _, key := range sortedKeys(tests) {
			if !keys[strings.ToLower(key)] {
				return nil, fmt.Errorf("%s %s: the key is not supported for %s", op, key, strings.Join(actions, ", "))
			}
			values, err := rv.list(tests[key])
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", op, key, err)
			}
			for i := range values {
				values[i] = rv.r.rewrite(values[i])
			}
			out = append(out, Condition{Operator: op, Key: key, Values: values})
		}
	}
	return out, nil
}

// resolver evaluates CloudFormation intrinsic functions.
type resolver struct {
	t *template
	r Resolver
}

// list resolves a value that may be one string or a list.
func (rv *resolver) list(v any) ([]string, error) {
	if l, ok := v.([]any); ok {
		var out []string
		for _, e := range l {
			s, err := rv.list(e)
			if err != nil {
				return nil, err
			}
			out = append(out, s...)
		}
		return out, nil
	}
	if m, ok := v.(map[string]any); ok {
		if _, ok := m["Fn::Split"]; ok {
			return rv.split(m["Fn::Split"])
		}
	}
	s, err := rv.str(v)
	if err != nil {
		return nil, err
	}
	return []string{s}, nil
}

// str resolves a value to one string.
func (rv *resolver) str(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case map[string]any:
		if len(x) != 1 {
			return "", fmt.Errorf("%s is not one intrinsic function", jsonText(x))
		}
		for fn, arg := range x {
			switch fn {
			case "Ref":
				id, ok := arg.(string)
				if !ok {
					return "", fmt.Errorf("Ref %s", jsonText(arg))
				}
				return rv.ref(id)
			case "Fn::GetAtt":
				return rv.getAtt(arg)
			case "Fn::Join":
				return rv.join(arg)
			case "Fn::Sub":
				return rv.sub(arg)
			case "Fn::Select":
				return rv.selectFn(arg)
			default:
				return "", fmt.Errorf("%s is not supported", fn)
			}
		}
	}
	return "", fmt.Errorf("%s is not a string", jsonText(v))
}

func (rv *resolver) ref(id string) (string, error) {
	switch id {
	case "AWS::Region":
		return rv.r.Region, nil
	case "AWS::AccountId":
		return rv.r.Account, nil
	case "AWS::Partition":
		return rv.r.partition(), nil
	case "AWS::URLSuffix":
		return rv.r.urlSuffix(), nil
	}
	res, ok := rv.t.Resources[id]
	if !ok {
		if _, ok := rv.t.Parameters[id]; ok {
			if n, ok := rv.r.Names[id]; ok {
				return n, nil
			}
			return "", fmt.Errorf("Ref %s: no local value for the parameter (Resolver.Names)", id)
		}
		return "", fmt.Errorf("Ref %s: no such resource or parameter", id)
	}
	name, err := rv.name(id)
	if err != nil {
		return "", err
	}
	p, reg, acct := rv.r.partition(), rv.r.Region, rv.r.Account
	switch res.Type {
	case "AWS::SNS::Topic":
		return "arn:" + p + ":sns:" + reg + ":" + acct + ":" + name, nil
	case "AWS::StepFunctions::StateMachine":
		return "arn:" + p + ":states:" + reg + ":" + acct + ":stateMachine:" + name, nil
	case "AWS::SQS::Queue":
		return "https://sqs." + reg + "." + rv.r.urlSuffix() + "/" + acct + "/" + name, nil
	}
	return name, nil
}

// namePropertyOf is the property holding a resource type's physical name.
var namePropertyOf = map[string]string{
	"AWS::S3::Bucket":                  "BucketName",
	"AWS::DynamoDB::Table":             "TableName",
	"AWS::SNS::Topic":                  "TopicName",
	"AWS::StepFunctions::StateMachine": "StateMachineName",
	"AWS::SES::ConfigurationSet":       "Name",
	"AWS::SES::EmailIdentity":          "EmailIdentity",
	"AWS::Logs::LogGroup":              "LogGroupName",
	"AWS::SQS::Queue":                  "QueueName",
	"AWS::Lambda::Function":            "FunctionName",
	"AWS::IAM::Role":                   "RoleName",
	"AWS::Cognito::UserPool":           "UserPoolName",
}

// name is a resource's local physical name.
func (rv *resolver) name(id string) (string, error) {
	if n, ok := rv.r.Names[id]; ok {
		return n, nil
	}
	if n, ok := rv.r.Names[rv.t.constructID(id)]; ok {
		return n, nil
	}
	res := rv.t.Resources[id]
	// A user pool's name is not its id, which is what its Ref and ARN use.
	if prop := namePropertyOf[res.Type]; prop != "" && res.Type != "AWS::Cognito::UserPool" {
		if n, ok := res.Properties[prop].(string); ok {
			return n, nil
		}
	}
	return "", fmt.Errorf("no local name for %s (%s %s): add it to Resolver.Names", id, res.Type, rv.t.constructID(id))
}

func (rv *resolver) getAtt(arg any) (string, error) {
	var id, att string
	switch a := arg.(type) {
	case []any:
		if len(a) == 2 {
			id, _ = a[0].(string)
			att, _ = a[1].(string)
		}
	case string:
		id, att, _ = strings.Cut(a, ".")
	}
	res, ok := rv.t.Resources[id]
	if id == "" || att == "" || !ok {
		return "", fmt.Errorf("Fn::GetAtt %s: no such resource attribute", jsonText(arg))
	}
	name, err := rv.name(id)
	if err != nil {
		return "", fmt.Errorf("Fn::GetAtt %s.%s: %w", id, att, err)
	}
	p, reg, acct := rv.r.partition(), rv.r.Region, rv.r.Account
	arn := func(service, rest string) string {
		return "arn:" + p + ":" + service + ":" + reg + ":" + acct + ":" + rest
	}
	type key struct{ typ, att string }
	switch (key{res.Type, att}) {
	case key{"AWS::S3::Bucket", "Arn"}:
		return "arn:" + p + ":s3:::" + name, nil
	case key{"AWS::DynamoDB::Table", "Arn"}:
		return arn("dynamodb", "table/"+name), nil
	case key{"AWS::DynamoDB::Table", "StreamArn"}:
		// Any of the table's streams: the label is the stream's creation
		// time, which only the running server knows.
		return arn("dynamodb", "table/"+name+"/stream/*"), nil
	case key{"AWS::Events::EventBus", "Arn"}:
		return arn("events", "event-bus/"+name), nil
	case key{"AWS::Events::EventBus", "Name"}:
		return name, nil
	case key{"AWS::SNS::Topic", "TopicArn"}:
		return arn("sns", name), nil
	case key{"AWS::SNS::Topic", "TopicName"}:
		return name, nil
	case key{"AWS::StepFunctions::StateMachine", "Arn"}:
		return arn("states", "stateMachine:"+name), nil
	case key{"AWS::StepFunctions::StateMachine", "Name"}:
		return name, nil
	case key{"AWS::Cognito::UserPool", "Arn"}:
		return arn("cognito-idp", "userpool/"+name), nil
	case key{"AWS::Logs::LogGroup", "Arn"}:
		return arn("logs", "log-group:"+name+":*"), nil
	case key{"AWS::KMS::Key", "Arn"}:
		return arn("kms", "key/"+name), nil
	case key{"AWS::SQS::Queue", "Arn"}:
		return arn("sqs", name), nil
	case key{"AWS::SQS::Queue", "QueueName"}:
		return name, nil
	case key{"AWS::Lambda::Function", "Arn"}:
		return arn("lambda", "function:"+name), nil
	case key{"AWS::IAM::Role", "Arn"}:
		return "arn:" + p + ":iam::" + acct + ":role/" + name, nil
	}
	return "", fmt.Errorf("Fn::GetAtt %s.%s: attribute %s of %s is not supported", id, att, att, res.Type)
}

func (rv *resolver) join(arg any) (string, error) {
	a, ok := arg.([]any)
	if !ok || len(a) != 2 {
		return "", fmt.Errorf("Fn::Join %s", jsonText(arg))
	}
	delim, ok := a[0].(string)
	if !ok {
		return "", fmt.Errorf("Fn::Join delimiter %s", jsonText(a[0]))
	}
	parts, err := rv.list(a[1])
	if err != nil {
		return "", fmt.Errorf("Fn::Join: %w", err)
	}
	return strings.Join(parts, delim), nil
}

func (rv *resolver) split(arg any) ([]string, error) {
	a, ok := arg.([]any)
	if !ok || len(a) != 2 {
		return nil, fmt.Errorf("Fn::Split %s", jsonText(arg))
	}
	delim, ok := a[0].(string)
	if !ok || delim == "" {
		return nil, fmt.Errorf("Fn::Split delimiter %s", jsonText(a[0]))
	}
	s, err := rv.str(a[1])
	if err != nil {
		return nil, fmt.Errorf("Fn::Split: %w", err)
	}
	return strings.Split(s, delim), nil
}

func (rv *resolver) selectFn(arg any) (string, error) {
	a, ok := arg.([]any)
	if !ok || len(a) != 2 {
		return "", fmt.Errorf("Fn::Select %s", jsonText(arg))
	}
	is, err := rv.str(a[0])
	if err != nil {
		return "", fmt.Errorf("Fn::Select index: %w", err)
	}
	i, err := strconv.Atoi(is)
	if err != nil {
		return "", fmt.Errorf("Fn::Select index %q", is)
	}
	list, err := rv.list(a[1])
	if err != nil {
		return "", fmt.Errorf("Fn::Select: %w", err)
	}
	if i < 0 || i >= len(list) {
		return "", fmt.Errorf("Fn::Select index %d out of %d", i, len(list))
	}
	return list[i], nil
}

// sub resolves Fn::Sub: "${Name}", "${Resource.Attr}", "${!Literal}", with
// an optional map of variables.
func (rv *resolver) sub(arg any) (string, error) {
	var text string
	vars := map[string]string{}
	switch a := arg.(type) {
	case string:
		text = a
	case []any:
		if len(a) != 2 {
			return "", fmt.Errorf("Fn::Sub %s", jsonText(arg))
		}
		text, _ = a[0].(string)
		m, ok := a[1].(map[string]any)
		if !ok {
			return "", fmt.Errorf("Fn::Sub variables %s", jsonText(a[1]))
		}
		for k, v := range m {
			s, err := rv.str(v)
			if err != nil {
				return "", fmt.Errorf("Fn::Sub variable %s: %w", k, err)
			}
			vars[k] = s
		}
	default:
		return "", fmt.Errorf("Fn::Sub %s", jsonText(arg))
	}
	var b strings.Builder
	for {
		i := strings.Index(text, "${")
		if i < 0 {
			b.WriteString(text)
			return b.String(), nil
		}
		b.WriteString(text[:i])
		j := strings.Index(text[i:], "}")
		if j < 0 {
			return "", fmt.Errorf("Fn::Sub %q: unterminated ${", text)
		}
		name := text[i+2 : i+j]
		text = text[i+j+1:]
		if strings.HasPrefix(name, "!") {
			b.WriteString("${" + name[1:] + "}")
			continue
		}
		var v string
		var err error
		if s, ok := vars[name]; ok {
			v = s
		} else if id, att, ok := strings.Cut(name, "."); ok {
			v, err = rv.getAtt([]any{id, att})
		} else {
			v, err = rv.ref(name)
		}
		if err != nil {
			return "", fmt.Errorf("Fn::Sub ${%s}: %w", name, err)
		}
		b.WriteString(v)
	}
}

func stringList(v any) ([]string, error) {
	switch x := v.(type) {
	case string:
		return []string{x}, nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%s is not a string", jsonText(e))
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s is not a string or a list", jsonText(v))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
