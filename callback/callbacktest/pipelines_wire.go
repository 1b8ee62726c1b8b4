package callbacktest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The pipeline operations on the wire: their members as decoded, checked
// against the model's constraints (written from AWS's SageMaker service
// model, api-2.json of 2017-07-24), and their answers. The state they change
// is in pipelines.go.

// The pipeline operations, as Request.Operation and Fault.ForOperation name
// them.
const (
	opCreatePipeline             = "CreatePipeline"
	opDescribePipeline           = "DescribePipeline"
	opDeletePipeline             = "DeletePipeline"
	opStartPipelineExecution     = "StartPipelineExecution"
	opDescribePipelineExecution  = "DescribePipelineExecution"
	opListPipelineExecutions     = "ListPipelineExecutions"
	opListPipelineExecutionSteps = "ListPipelineExecutionSteps"
	opStopPipelineExecution      = "StopPipelineExecution"
)

// pipelineMembers are the members each pipeline operation reads.
var pipelineMembers = map[string][]string{
	opCreatePipeline:             {"PipelineName", "PipelineDisplayName", "PipelineDefinition", "PipelineDefinitionS3Location", "PipelineDescription", "ClientRequestToken", "RoleArn"},
	opDescribePipeline:           {"PipelineName"},
	opDeletePipeline:             {"PipelineName", "ClientRequestToken"},
	opStartPipelineExecution:     {"PipelineName", "PipelineExecutionDisplayName", "PipelineParameters", "PipelineExecutionDescription", "ClientRequestToken"},
	opDescribePipelineExecution:  {"PipelineExecutionArn"},
	opListPipelineExecutions:     {"PipelineName", "CreatedAfter", "CreatedBefore", "SortBy", "SortOrder", "NextToken", "MaxResults"},
	opListPipelineExecutionSteps: {"PipelineExecutionArn", "NextToken", "MaxResults", "SortOrder"},
	opStopPipelineExecution:      {"PipelineExecutionArn", "ClientRequestToken"},
}

const (
	namePattern = `[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}`
	pipelineARN = `arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:([0-9]{12}|aws):pipeline/.*`
	defaultPage = 50 // MaxResults when absent: the fake's choice
)

var (
	pipelineNameRule       = constraint{path: "pipelineName", required: true, min: 1, max: 256, pattern: regexp.MustCompile(`^` + namePattern + `$`)}
	pipelineNameOrARNRule  = constraint{path: "pipelineName", required: true, min: 1, max: 2048, pattern: regexp.MustCompile(`^(` + pipelineARN + `)?(` + namePattern + `)$`)}
	displayNameRule        = constraint{path: "pipelineDisplayName", min: 1, max: 256, pattern: regexp.MustCompile(`^` + namePattern + `$`)}
	definitionRule         = constraint{path: "pipelineDefinition", min: 1, max: 1048576}
	descriptionRule        = constraint{path: "pipelineDescription", max: 3072}
	requiredCRTRule        = constraint{path: "clientRequestToken", required: true, min: 32, max: 128}
	roleARNRule            = constraint{path: "roleArn", required: true, min: 20, max: 2048, pattern: regexp.MustCompile(`^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`)}
	execDisplayNameRule    = constraint{path: "pipelineExecutionDisplayName", min: 1, max: 82, pattern: regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,81}$`)}
	execDescriptionRule    = constraint{path: "pipelineExecutionDescription", max: 3072}
	parametersRule         = constraint{path: "pipelineParameters", max: 200}
	parameterNameRule      = constraint{path: "name", required: true, min: 1, max: 256, pattern: regexp.MustCompile(`^[A-Za-z0-9\-_]*$`)}
	parameterValueRule     = constraint{path: "value", required: true, max: 1024}
	executionARNRule       = constraint{path: "pipelineExecutionArn", required: true, max: 2048, pattern: regexp.MustCompile(`^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:pipeline\/.*\/execution\/.*$`)}
	nextTokenRule          = constraint{path: "nextToken", max: 8192}
	sortOrderRule          = constraint{path: "sortOrder", max: math.MaxInt, enum: []string{"Ascending", "Descending"}}
	sortExecutionsByRule   = constraint{path: "sortBy", max: math.MaxInt, enum: []string{"CreationTime", "PipelineExecutionArn"}}
	errNoPipelineFromS3URL = badRequest("ValidationException", "The fake (callbacktest) takes a PipelineDefinition, not a PipelineDefinitionS3Location.")
)

// pipelineInput is the members of a pipeline operation, as decoded; nil when
// absent.
type pipelineInput struct {
	name, displayName, definition, description, crt, roleARN *string
	executionARN, nextToken, sortOrder, sortBy               *string
	maxResults                                               *int
	createdAfter, createdBefore                              *time.Time
	params                                                   []nameValue // nil when absent
	s3Location                                               bool
}

// decodePipelineInput reads the members of op from a body that is valid
// JSON, as decodeMembers does for the completions.
func decodePipelineInput(body []byte, op string) (in pipelineInput, e *apiError) {
	if k := kindOf(body); k != '{' {
		return in, serialization(notExpected(k, "structure"))
	}
	var top map[string]json.RawMessage
	_ = json.Unmarshal(body, &top) // cannot fail: a valid JSON object
	has := pipelineMembers[op]
	raw := func(name string, want byte, typ string) json.RawMessage {
		if e != nil || !slices.Contains(has, name) {
			return nil
		}
		switch k := kindOf(top[name]); {
		case k == 0 || k == 'n':
		case k == want:
			return top[name]
		default:
			e = serialization(notExpected(k, typ))
		}
		return nil
	}
	str := func(name string) *string {
		v := raw(name, '"', "String")
		if v == nil {
			return nil
		}
		s := new(string)
		_ = json.Unmarshal(v, s)
		return s
	}
	number := func(name, typ string) *json.Number {
		v := raw(name, '0', typ)
		if v == nil {
			return nil
		}
		var n json.Number
		if err := json.Unmarshal(v, &n); err != nil && e == nil {
			e = serialization("NUMBER_VALUE can not be converted to " + typ)
		}
		return &n
	}
	in.name = str("PipelineName")
	in.displayName = cmp.Or(str("PipelineDisplayName"), str("PipelineExecutionDisplayName"))
	in.definition = str("PipelineDefinition")
	in.description = cmp.Or(str("PipelineDescription"), str("PipelineExecutionDescription"))
	in.crt = str("ClientRequestToken")
	in.roleARN = str("RoleArn")
	in.executionARN = str("PipelineExecutionArn")
	in.nextToken = str("NextToken")
	in.sortOrder = str("SortOrder")
	in.sortBy = str("SortBy")
	in.s3Location = raw("PipelineDefinitionS3Location", '{', "structure") != nil
	if n := number("MaxResults", "an Integer"); n != nil {
		i, err := n.Int64()
		if err != nil || i < math.MinInt32 || i > math.MaxInt32 {
			if e == nil {
				e = serialization("NUMBER_VALUE can not be converted to an Integer")
			}
		} else {
			v := int(i)
			in.maxResults = &v
		}
	}
	for name, dst := range map[string]**time.Time{"CreatedAfter": &in.createdAfter, "CreatedBefore": &in.createdBefore} {
		if n := number(name, "a Timestamp"); n != nil {
			if f, err := n.Float64(); err == nil {
				t := time.UnixMilli(int64(math.Round(f * 1000)))
				*dst = &t
			}
		}
	}
	if v := raw("PipelineParameters", '[', "List"); v != nil {
		in.params, e = nameValues(v)
	}
	return in, e
}

// validationMessage returns AWS's ValidationException message for the
// constraints the members of op break, or "" when they break none.
func (in *pipelineInput) validationMessage(op string) string {
	var items []string
	check := func(c constraint, v *string) { items = append(items, c.checkString(c.path, v)...) }
	switch op {
	case opCreatePipeline:
		check(pipelineNameRule, in.name)
		check(displayNameRule, in.displayName)
		check(definitionRule, in.definition)
		check(descriptionRule, in.description)
		check(requiredCRTRule, in.crt)
		check(roleARNRule, in.roleARN)
	case opDescribePipeline:
		check(pipelineNameOrARNRule, in.name)
	case opDeletePipeline:
		check(pipelineNameRule, in.name)
		check(requiredCRTRule, in.crt)
	case opStartPipelineExecution:
		check(pipelineNameOrARNRule, in.name)
		check(execDisplayNameRule, in.displayName)
		check(execDescriptionRule, in.description)
		check(requiredCRTRule, in.crt)
		if in.params != nil {
			items = append(items, parametersRule.check(parametersRule.path, new(string), len(in.params), fmt.Sprintf("%d parameters", len(in.params)))...)
			for i, p := range in.params {
				path := parametersRule.path + "." + strconv.Itoa(i+1) + ".member."
				items = append(items, parameterNameRule.checkString(path+parameterNameRule.path, p.name)...)
				items = append(items, parameterValueRule.checkString(path+parameterValueRule.path, p.value)...)
			}
		}
	case opDescribePipelineExecution:
		check(executionARNRule, in.executionARN)
	case opListPipelineExecutions:
		check(pipelineNameOrARNRule, in.name)
		check(sortExecutionsByRule, in.sortBy)
		check(sortOrderRule, in.sortOrder)
		check(nextTokenRule, in.nextToken)
	case opListPipelineExecutionSteps:
		// The model does not require the ARN; the fake does (its choice).
		check(executionARNRule, in.executionARN)
		check(sortOrderRule, in.sortOrder)
		check(nextTokenRule, in.nextToken)
	case opStopPipelineExecution:
		check(executionARNRule, in.executionARN)
		check(requiredCRTRule, in.crt)
	}
	if n := in.maxResults; n != nil && (*n < 1 || *n > 100) {
		bound := "greater than or equal to 1"
		if *n > 100 {
			bound = "less than or equal to 100"
		}
		items = append(items, fmt.Sprintf("Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value %s", *n, bound))
	}
	return validationText(items)
}

// paramsKey returns the canonical form of the parameters of a call, to tell a
// repeated ClientRequestToken with the same parameters from one with others.
func (in *pipelineInput) paramsKey() string {
	b, _ := json.Marshal([]any{deref(in.name), deref(in.displayName), deref(in.definition), deref(in.description),
		deref(in.roleARN), deref(in.executionARN), in.paramList()})
	return string(b)
}

func (in *pipelineInput) paramList() [][2]string {
	var out [][2]string
	for _, p := range in.params {
		out = append(out, [2]string{deref(p.name), deref(p.value)})
	}
	return out
}

// epoch is a time as the JSON protocols send it: seconds since the epoch,
// with milliseconds.
type epoch time.Time

// MarshalJSON writes the time as seconds since the epoch.
func (t epoch) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(time.Time(t).UnixMilli())/1000, 'f', -1, 64)), nil
}

// ts returns t for an answer, nil when zero.
func ts(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

// The answers of the pipeline operations.
type (
	pipelineARNOut struct {
		PipelineArn string
	}
	executionARNOut struct {
		PipelineExecutionArn string
	}
	describePipelineOut struct {
		PipelineArn         string
		PipelineName        string
		PipelineDisplayName string
		PipelineDefinition  string
		PipelineDescription string `json:",omitempty"`
		RoleArn             string
		PipelineStatus      string
		CreationTime        *epoch
		LastModifiedTime    *epoch
		LastRunTime         *epoch `json:",omitempty"`
	}
	describeExecutionOut struct {
		PipelineArn                  string
		PipelineExecutionArn         string
		PipelineExecutionDisplayName string
		PipelineExecutionStatus      string
		PipelineExecutionDescription string `json:",omitempty"`
		FailureReason                string `json:",omitempty"`
		CreationTime                 *epoch
		LastModifiedTime             *epoch
	}
	executionSummary struct {
		PipelineExecutionArn           string
		StartTime                      *epoch
		PipelineExecutionStatus        string
		PipelineExecutionDescription   string `json:",omitempty"`
		PipelineExecutionDisplayName   string
		PipelineExecutionFailureReason string `json:",omitempty"`
	}
	listExecutionsOut struct {
		PipelineExecutionSummaries []executionSummary
		NextToken                  string `json:",omitempty"`
	}
	outputParameter struct {
		Name  string
		Value string
	}
	callbackMetadata struct {
		CallbackToken    string
		SqsQueueUrl      string
		OutputParameters []outputParameter `json:",omitempty"`
	}
	stepMetadata struct {
		Callback callbackMetadata
	}
	executionStep struct {
		StepName        string
		StepDisplayName string `json:",omitempty"`
		StepDescription string `json:",omitempty"`
		StartTime       *epoch
		EndTime         *epoch `json:",omitempty"`
		StepStatus      string
		FailureReason   string `json:",omitempty"`
		AttemptCount    int
		Metadata        stepMetadata
	}
	listStepsOut struct {
		PipelineExecutionSteps []executionStep
		NextToken              string `json:",omitempty"`
	}
)

func notFound(msg string) answer { return answer{err: badRequest("ResourceNotFound", msg)} }

func conflict(msg string) answer { return answer{err: badRequest("ConflictException", msg)} }

// pipelineOperation checks the members of a pipeline operation against the
// model and serves it.
func (s *Server) pipelineOperation(op string, in *pipelineInput) answer {
	if msg := in.validationMessage(op); msg != "" {
		return answer{err: badRequest("ValidationException", msg)}
	}
	s.mu.Lock()
	var a answer
	var sends []pendingSend
	switch op {
	case opCreatePipeline:
		a = s.createPipeline(in)
	case opDescribePipeline:
		a = s.describePipeline(in)
	case opDeletePipeline:
		a = s.deletePipeline(in)
	case opStartPipelineExecution:
		a, sends = s.startPipelineExecution(in)
	case opDescribePipelineExecution:
		a = s.describePipelineExecution(in)
	case opListPipelineExecutions:
		a = s.listPipelineExecutions(in)
	case opListPipelineExecutionSteps:
		a = s.listPipelineExecutionSteps(in)
	case opStopPipelineExecution:
		a, sends = s.stopPipelineExecution(in)
	}
	s.mu.Unlock()
	s.dispatch(sends)
	return a
}

// idempotent looks up the ClientRequestToken of a call: it returns the
// answer of the earlier call with the same token and parameters, a
// ConflictException for one with other parameters, or ok false for a new
// token. Called with s.mu held.
func (s *Server) idempotent(op string, in *pipelineInput) (a answer, seen bool) {
	prev := s.pipes.idem[*in.crt]
	switch {
	case prev == nil:
		return a, false
	case prev.op != op || prev.params != in.paramsKey():
		return conflict(fmt.Sprintf("ClientRequestToken '%s' was already used with different parameters.", *in.crt)), true
	case op == opCreatePipeline || op == opDeletePipeline:
		return answer{out: pipelineARNOut{prev.arn}, replayed: true}, true
	}
	return answer{out: executionARNOut{prev.arn}, arn: prev.arn, replayed: true}, true
}

func (s *Server) remember(op string, in *pipelineInput, arn string) {
	s.pipes.idem[*in.crt] = &pipeIdem{op: op, params: in.paramsKey(), arn: arn}
}

func (s *Server) createPipeline(in *pipelineInput) answer {
	if a, seen := s.idempotent(opCreatePipeline, in); seen {
		return a
	}
	name := *in.name
	if s.pipes.byName[name] != nil {
		return answer{err: badRequest("ValidationException", "Pipeline names must be unique within an AWS account and region. Pipeline with name ("+name+") already exists.")}
	}
	if in.definition == nil {
		if in.s3Location {
			return answer{err: errNoPipelineFromS3URL}
		}
		return answer{err: badRequest("ValidationException", "Either PipelineDefinition or PipelineDefinitionS3Location must be provided.")}
	}
	def, problem := parseDefinition(*in.definition)
	if problem != "" {
		return answer{err: badRequest("ValidationException", problem)}
	}
	now := s.opts.Now()
	p := &pipeline{
		name: name, arn: s.arn("pipeline/" + strings.ToLower(name)),
		displayName: cmp.Or(deref(in.displayName), name), description: deref(in.description),
		roleARN: *in.roleARN, definition: *in.definition, def: def, created: now, modified: now,
	}
	s.pipes.byName[name] = p
	s.remember(opCreatePipeline, in, p.arn)
	return answer{out: pipelineARNOut{p.arn}}
}

func (s *Server) describePipeline(in *pipelineInput) answer {
	p := s.pipelineByName(*in.name)
	if p == nil {
		return notFound("Pipeline '" + *in.name + "' does not exist.")
	}
	return answer{out: describePipelineOut{
		PipelineArn: p.arn, PipelineName: p.name, PipelineDisplayName: cmp.Or(p.displayName, p.name),
		PipelineDefinition: p.definition, PipelineDescription: p.description, RoleArn: p.roleARN,
		PipelineStatus: "Active", CreationTime: ts(p.created), LastModifiedTime: ts(p.modified), LastRunTime: ts(p.lastRun),
	}}
}

func (s *Server) deletePipeline(in *pipelineInput) answer {
	if a, seen := s.idempotent(opDeletePipeline, in); seen {
		return a
	}
	p := s.pipes.byName[*in.name]
	if p == nil {
		return notFound("Pipeline '" + *in.name + "' does not exist.")
	}
	delete(s.pipes.byName, p.name)
	s.remember(opDeletePipeline, in, p.arn)
	return answer{out: pipelineARNOut{p.arn}}
}

func (s *Server) startPipelineExecution(in *pipelineInput) (answer, []pendingSend) {
	if a, seen := s.idempotent(opStartPipelineExecution, in); seen {
		return a, nil
	}
	p := s.pipelineByName(*in.name)
	if p == nil {
		return notFound("Pipeline '" + *in.name + "' does not exist."), nil
	}
	params := make(map[string]any)
	for _, dp := range p.def.params {
		if dp.hasDefault {
			params[dp.name] = dp.value
		}
	}
	for _, ip := range in.params {
		i := slices.IndexFunc(p.def.params, func(dp defParam) bool { return dp.name == *ip.name })
		if i < 0 {
			return answer{err: badRequest("ValidationException", "Pipeline parameter '"+*ip.name+"' is not defined in the pipeline definition.")}, nil
		}
		v, problem := paramValue(p.def.params[i].typ, *ip.value)
		if problem != "" {
			return answer{err: badRequest("ValidationException", "Pipeline parameter '"+*ip.name+"': "+problem+".")}, nil
		}
		params[*ip.name] = v
	}
	for _, dp := range p.def.params {
		if _, ok := params[dp.name]; !ok {
			return answer{err: badRequest("ValidationException", "Pipeline parameter '"+dp.name+"' has no default value and was not given a value.")}, nil
		}
	}
	e := s.newExecution(p, params, deref(in.displayName), deref(in.description))
	s.remember(opStartPipelineExecution, in, e.arn)
	return answer{out: executionARNOut{e.arn}, arn: e.arn}, s.advance(e)
}

func (s *Server) execution(arn string) (*execution, answer) {
	e := s.pipes.execs[arn]
	if e == nil {
		return nil, notFound("Pipeline execution '" + arn + "' does not exist.")
	}
	return e, answer{}
}

func (s *Server) describePipelineExecution(in *pipelineInput) answer {
	e, a := s.execution(*in.executionARN)
	if e == nil {
		return a
	}
	out := describeExecutionOut{
		PipelineArn: e.p.arn, PipelineExecutionArn: e.arn, PipelineExecutionDisplayName: e.displayName,
		PipelineExecutionStatus: e.status, PipelineExecutionDescription: e.description,
		CreationTime: ts(e.created), LastModifiedTime: ts(e.modified),
	}
	if e.status == StatusFailed {
		out.FailureReason = executionFailure
	}
	return answer{out: out, arn: e.arn}
}

// page returns the bounds of the page that NextToken and MaxResults ask for
// in a list of n items, and the NextToken of the page after ("" for none).
func page(in *pipelineInput, n int) (from, to int, next string, a *apiError) {
	if t := deref(in.nextToken); t != "" {
		i, err := strconv.Atoi(strings.TrimPrefix(t, "callbacktest-"))
		if err != nil || !strings.HasPrefix(t, "callbacktest-") || i < 0 {
			return 0, 0, "", badRequest("ValidationException", "Invalid pagination token: '"+t+"'.")
		}
		from = min(i, n)
	}
	size := defaultPage
	if in.maxResults != nil {
		size = *in.maxResults
	}
	to = min(from+size, n)
	if to < n {
		next = "callbacktest-" + strconv.Itoa(to)
	}
	return from, to, next, nil
}

func (s *Server) listPipelineExecutions(in *pipelineInput) answer {
	p := s.pipelineByName(*in.name)
	if p == nil {
		return notFound("Pipeline '" + *in.name + "' does not exist.")
	}
	var list []*execution
	for _, e := range p.executions {
		if in.createdAfter != nil && !e.created.After(*in.createdAfter) || in.createdBefore != nil && !e.created.Before(*in.createdBefore) {
			continue
		}
		list = append(list, e)
	}
	if deref(in.sortBy) == "PipelineExecutionArn" {
		slices.SortStableFunc(list, func(a, b *execution) int { return strings.Compare(a.arn, b.arn) })
	}
	if deref(in.sortOrder) != "Ascending" {
		slices.Reverse(list)
	}
	from, to, next, e := page(in, len(list))
	if e != nil {
		return answer{err: e}
	}
	out := listExecutionsOut{PipelineExecutionSummaries: []executionSummary{}, NextToken: next}
	for _, e := range list[from:to] {
		sum := executionSummary{
			PipelineExecutionArn: e.arn, StartTime: ts(e.created), PipelineExecutionStatus: e.status,
			PipelineExecutionDescription: e.description, PipelineExecutionDisplayName: e.displayName,
		}
		if e.status == StatusFailed {
			sum.PipelineExecutionFailureReason = executionFailure
		}
		out.PipelineExecutionSummaries = append(out.PipelineExecutionSummaries, sum)
	}
	return answer{out: out}
}

func (s *Server) listPipelineExecutionSteps(in *pipelineInput) answer {
	e, a := s.execution(*in.executionARN)
	if e == nil {
		return a
	}
	list := slices.Clone(e.steps)
	if deref(in.sortOrder) != "Ascending" {
		slices.Reverse(list)
	}
	from, to, next, apiErr := page(in, len(list))
	if apiErr != nil {
		return answer{err: apiErr}
	}
	out := listStepsOut{PipelineExecutionSteps: []executionStep{}, NextToken: next}
	for _, es := range list[from:to] {
		step := executionStep{
			StepName: es.name, StepDisplayName: es.displayName, StepDescription: es.desc,
			StartTime: ts(es.start), EndTime: ts(es.end), StepStatus: es.status,
			FailureReason: es.failureReason, AttemptCount: 1,
			Metadata: stepMetadata{Callback: callbackMetadata{CallbackToken: es.token, SqsQueueUrl: es.queueURL}},
		}
		for _, o := range es.outputs {
			step.Metadata.Callback.OutputParameters = append(step.Metadata.Callback.OutputParameters, outputParameter(o))
		}
		out.PipelineExecutionSteps = append(out.PipelineExecutionSteps, step)
	}
	return answer{out: out, arn: e.arn}
}

func (s *Server) stopPipelineExecution(in *pipelineInput) (answer, []pendingSend) {
	if a, seen := s.idempotent(opStopPipelineExecution, in); seen {
		return a, nil
	}
	e, a := s.execution(*in.executionARN)
	if e == nil {
		return a, nil
	}
	sends, ok := s.stop(e)
	if !ok && e.status != statusStopping {
		return conflict("Pipeline execution '" + e.arn + "' is " + e.status + ": only an Executing execution can be stopped."), nil
	}
	s.remember(opStopPipelineExecution, in, e.arn)
	return answer{out: executionARNOut{e.arn}, arn: e.arn}, sends
}
