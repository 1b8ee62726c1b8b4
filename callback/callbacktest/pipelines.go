package callbacktest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The state of the pipelines, their executions and their steps: plain Go,
// guarded by Server.mu. The wire side (decoding the requests, checking them
// against the model, encoding the answers) is in pipelines_wire.go.

const (
	statusStopping = MessageStatusStopping
	statusStopped  = "Stopped"

	defaultStepName   = "callback"   // the one step of the pipeline of Options.Pipeline
	definitionVersion = "2020-12-01" // what the SageMaker Python SDK writes

	// executionFailure is the FailureReason of an execution whose step failed,
	// as SageMaker words it.
	executionFailure = "Step failure: One or multiple steps failed."
)

// pipelineState is every pipeline, execution and started step of a Server.
type pipelineState struct {
	byName  map[string]*pipeline
	execs   map[string]*execution // by ARN
	byToken map[string]*execStep
	idem    map[string]*pipeIdem // by ClientRequestToken
}

func newPipelineState() pipelineState {
	return pipelineState{
		byName:  make(map[string]*pipeline),
		execs:   make(map[string]*execution),
		byToken: make(map[string]*execStep),
		idem:    make(map[string]*pipeIdem),
	}
}

// pipeIdem is what a call with a ClientRequestToken left: its operation and
// parameters (as a canonical string) and the ARN it answered.
type pipeIdem struct {
	op, params, arn string
}

// pipeline is a pipeline made by CreatePipeline, or the one of
// Options.Pipeline.
type pipeline struct {
	name, arn, displayName, description, roleARN string
	definition                                   string // as sent
	def                                          *definition
	created, modified, lastRun                   time.Time
	executions                                   []*execution // in the order they started
}

// definition is a parsed PipelineDefinition.
type definition struct {
	params []defParam
	steps  []*defStep // in the definition's order
}

// defParam is a pipeline parameter.
type defParam struct {
	name, typ  string
	value      any // the DefaultValue
	hasDefault bool
}

// defStep is a callback step of a definition.
type defStep struct {
	name, displayName, description string
	arguments                      map[string]any // with Get references left in
	deps                           []string       // DependsOn and the steps that Get references name
	queueURL                       string
}

// execution is a pipeline execution.
type execution struct {
	arn                      string
	p                        *pipeline
	displayName, description string
	status                   string // StatusExecuting, statusStopping, statusStopped, StatusFailed or StatusSucceeded
	failed                   bool   // a step failed: no other step starts
	created, modified        time.Time
	now                      func() time.Time // the server's clock, Options.Now
	params                   map[string]any
	steps                    []*execStep // in the order they started
}

// execStep is a started callback step of an execution.
type execStep struct {
	e                       *execution
	name, displayName, desc string
	token, queueURL         string
	status                  string // StatusExecuting, statusStopping, statusStopped, StatusFailed or StatusSucceeded
	start, end              time.Time
	failureReason           string
	arguments               map[string]any
	outputs                 []Output
}

// waiting reports whether the step waits for a completion.
func (es *execStep) waiting() bool {
	return es.status == StatusExecuting || es.status == statusStopping
}

// pendingSend is a step message to put on a queue once Server.mu is let go.
type pendingSend struct {
	es   *execStep
	body string
}

// addDefaultPipeline registers the pipeline of Options.Pipeline, whose one
// callback step, "callback", sends its message to the fake's queue. Called
// by NewServer.
func (s *Server) addDefaultPipeline() {
	def := fmt.Sprintf(`{"Version":%q,"Parameters":[],"Steps":[{"Name":%q,"Type":"Callback","Arguments":{},"SqsQueueUrl":%q,"OutputParameters":[]}]}`,
		definitionVersion, defaultStepName, s.queue.url)
	d, problem := parseDefinition(def)
	if problem != "" {
		panic("callbacktest: the default pipeline: " + problem)
	}
	now := s.opts.Now()
	p := &pipeline{
		name: s.opts.Pipeline, arn: s.arn("pipeline/" + s.opts.Pipeline),
		roleARN:    "arn:aws:iam::" + s.opts.AccountID + ":role/callbacktest",
		definition: def, def: d, created: now, modified: now,
	}
	s.pipes.byName[p.name] = p
	s.defaultPipeline = p
}

// pipelineByName returns the pipeline that a name or an ARN names. Called
// with s.mu held.
func (s *Server) pipelineByName(nameOrARN string) *pipeline {
	if p := s.pipes.byName[nameOrARN]; p != nil {
		return p
	}
	for _, p := range s.pipes.byName {
		if p.arn == nameOrARN {
			return p
		}
	}
	return nil
}

// newExecution makes an execution of p, Executing, with its parameters.
// Called with s.mu held.
func (s *Server) newExecution(p *pipeline, params map[string]any, displayName, description string) *execution {
	now := s.opts.Now()
	var id string
	for {
		id = randomString("abcdefghijklmnopqrstuvwxyz0123456789", 12)
		if s.pipes.execs[p.arn+"/execution/"+id] == nil {
			break
		}
	}
	e := &execution{
		arn: p.arn + "/execution/" + id, p: p, status: StatusExecuting,
		displayName: displayName, description: description,
		created: now, modified: now, now: s.opts.Now, params: params,
	}
	if e.displayName == "" {
		e.displayName = fmt.Sprintf("execution-%d", now.UnixMilli())
	}
	s.pipes.execs[e.arn] = e
	p.executions = append(p.executions, e)
	p.lastRun = now
	return e
}

// startStep registers a started step of e with token, waiting. Called with
// s.mu held.
func (s *Server) startStep(e *execution, ds *defStep, token string, arguments map[string]any) *execStep {
	now := s.opts.Now()
	es := &execStep{
		e: e, name: ds.name, displayName: ds.displayName, desc: ds.description,
		token: token, queueURL: ds.queueURL, status: StatusExecuting, start: now,
		arguments: arguments,
	}
	e.steps = append(e.steps, es)
	s.pipes.byToken[token] = es
	if _, ok := s.steps[token]; !ok {
		s.steps[token] = &Step{Token: token, ExecutionARN: e.arn, Status: StatusExecuting, Registered: now}
		s.order = append(s.order, token)
	}
	return es
}

// newToken returns a callback token that no step has. Called with s.mu held.
func (s *Server) newToken() string {
	for {
		t := randomString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 10)
		if _, taken := s.steps[t]; !taken {
			return t
		}
	}
}

// advance starts each step of e whose dependencies succeeded, and then
// settles e's status. It returns the messages to send. Called with s.mu held.
func (s *Server) advance(e *execution) []pendingSend {
	var sends []pendingSend
	if e.status == StatusExecuting {
		started := make(map[string]*execStep, len(e.steps))
		for _, es := range e.steps {
			started[es.name] = es
		}
		for _, ds := range e.p.def.steps {
			if e.failed {
				break
			}
			if started[ds.name] != nil || !depsMet(ds, started) {
				continue
			}
			args, problem := resolve(ds.arguments, e, started)
			arguments, _ := args.(map[string]any) // nil with a problem
			es := s.startStep(e, ds, s.newToken(), arguments)
			started[ds.name] = es
			if problem != "" {
				s.failStep(es, problem)
				continue
			}
			sends = append(sends, pendingSend{es, StepMessage(es.token, e.arn, es.arguments, MessageStatusExecuting)})
		}
	}
	s.settle(e)
	return sends
}

func depsMet(ds *defStep, started map[string]*execStep) bool {
	for _, d := range ds.deps {
		if es := started[d]; es == nil || es.status != StatusSucceeded {
			return false
		}
	}
	return true
}

// settle ends e once none of its steps waits: Stopped when it was stopping,
// Failed when a step failed, Succeeded when every step succeeded. Called
// with s.mu held.
func (s *Server) settle(e *execution) {
	if e.status != StatusExecuting && e.status != statusStopping {
		return
	}
	succeeded := 0
	for _, es := range e.steps {
		if es.waiting() {
			return
		}
		if es.status == StatusSucceeded {
			succeeded++
		}
	}
	switch {
	case e.status == statusStopping:
		e.status = statusStopped
	case e.failed:
		e.status = StatusFailed
	case succeeded == len(e.p.def.steps):
		e.status = StatusSucceeded
	default:
		return // cannot happen: a step that waits on nothing has started
	}
	e.modified = s.opts.Now()
}

// failStep fails a step that could not start (its arguments could not be
// resolved, or its queue is not one of the fake's), as SageMaker fails a
// step: its Step too is Failed, with no completion. Called with s.mu held.
func (s *Server) failStep(es *execStep, reason string) {
	now := s.opts.Now()
	es.status, es.failureReason, es.end = StatusFailed, reason, now
	es.e.failed, es.e.modified = true, now
	if st := s.steps[es.token]; st != nil && st.Status == StatusExecuting {
		st.Status, st.FailureReason, st.Completed = StatusFailed, reason, now
	}
}

// stepCompleted moves the pipeline on after the step st was completed by a
// request: its dependants start, or its execution fails or stops. It returns
// the messages to send. Called with s.mu held.
func (s *Server) stepCompleted(st *Step) []pendingSend {
	es := s.pipes.byToken[st.Token]
	if es == nil || !es.waiting() {
		return nil
	}
	e := es.e
	es.end, e.modified = st.Completed, st.Completed
	stopped := es.status == statusStopping
	es.status = st.Status
	if stopped {
		es.status = statusStopped
	}
	if st.Status == StatusFailed {
		es.failureReason = st.FailureReason
		if !stopped {
			e.failed = true
		}
	} else {
		es.outputs = st.Outputs
	}
	return s.advance(e)
}

// stop stops e as StopPipelineExecution does: e and each of its waiting
// steps are Stopping, and each such step gets a Stopping message. It
// reports false, sending nothing, when e is not Executing. Called with s.mu
// held.
func (s *Server) stop(e *execution) ([]pendingSend, bool) {
	if e.status != StatusExecuting {
		return nil, false
	}
	e.status, e.modified = statusStopping, s.opts.Now()
	var sends []pendingSend
	for _, es := range e.steps {
		if es.status == StatusExecuting {
			es.status = statusStopping
			sends = append(sends, pendingSend{es, StepMessage(es.token, e.arn, es.arguments, MessageStatusStopping)})
		}
	}
	s.settle(e)
	return sends, true
}

// dispatch puts the messages on their queues. A step whose SqsQueueUrl names
// no queue of the fake fails, as SageMaker fails a step whose message it
// cannot send. Called without s.mu.
func (s *Server) dispatch(sends []pendingSend) {
	for len(sends) > 0 {
		ps := sends[0]
		sends = sends[1:]
		if q, ok := s.queueByURL(ps.es.queueURL); ok {
			q.send(ps.body, 0, nil)
			continue
		}
		s.mu.Lock()
		if ps.es.waiting() {
			s.failStep(ps.es, "SqsQueueUrl '"+ps.es.queueURL+"' names no queue of the fake (callbacktest): the step's message could not be sent.")
			s.settle(ps.es.e)
		}
		s.mu.Unlock()
	}
}

// resolve returns v with each Get reference replaced by its value:
// "Parameters.NAME" by the execution's parameter, "Steps.S.OutputParameters['o']"
// by the output parameter o that step S succeeded with, and
// "Execution.PipelineExecutionArn" and the like by the execution's.
func resolve(v any, e *execution, started map[string]*execStep) (any, string) {
	switch v := v.(type) {
	case map[string]any:
		if ref, ok := getRef(v); ok {
			return resolveRef(ref, e, started)
		}
		if on, values, ok := joinOf(v); ok {
			return resolveJoin(on, values, e, started)
		}
		out := make(map[string]any, len(v))
		for k, x := range v {
			r, problem := resolve(x, e, started)
			if problem != "" {
				return nil, problem
			}
			out[k] = r
		}
		return out, ""
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			r, problem := resolve(x, e, started)
			if problem != "" {
				return nil, problem
			}
			out[i] = r
		}
		return out, ""
	}
	return v, ""
}

// joinOf returns the separator and the values of {"Std:Join": {"On": "/",
// "Values": [...]}}, the SageMaker Python SDK's Join. It reports false for
// anything else, a malformed Join included (see checkJoins).
func joinOf(m map[string]any) (on string, values []any, ok bool) {
	if len(m) != 1 {
		return "", nil, false
	}
	j, _ := m["Std:Join"].(map[string]any)
	on, okOn := j["On"].(string)
	values, okValues := j["Values"].([]any)
	return on, values, okOn && okValues && len(j) == 2
}

// resolveJoin returns the values, resolved, joined with on: strings as they
// are, numbers and booleans as JSON writes them.
func resolveJoin(on string, values []any, e *execution, started map[string]*execStep) (any, string) {
	parts := make([]string, len(values))
	for i, v := range values {
		r, problem := resolve(v, e, started)
		if problem != "" {
			return nil, problem
		}
		switch r := r.(type) {
		case string:
			parts[i] = r
		case json.Number, float64, bool:
			b, _ := json.Marshal(r)
			parts[i] = string(b)
		default:
			return nil, fmt.Sprintf("A value of a Std:Join is %s, not a string, a number or a boolean.", jsonOf(r))
		}
	}
	return strings.Join(parts, on), ""
}

// checkJoins returns the problem of a malformed Std:Join in v, "" for none.
func checkJoins(v any) string {
	switch v := v.(type) {
	case map[string]any:
		if j, ok := v["Std:Join"]; ok {
			if _, _, ok := joinOf(v); !ok {
				return fmt.Sprintf("Invalid pipeline definition: %s is not a Std:Join of the form {\"Std:Join\": {\"On\": \"/\", \"Values\": [...]}}.", jsonOf(map[string]any{"Std:Join": j}))
			}
		}
		for _, x := range v {
			if p := checkJoins(x); p != "" {
				return p
			}
		}
	case []any:
		for _, x := range v {
			if p := checkJoins(x); p != "" {
				return p
			}
		}
	}
	return ""
}

// getRef returns the reference of {"Get": "..."}.
func getRef(m map[string]any) (string, bool) {
	if len(m) != 1 {
		return "", false
	}
	ref, ok := m["Get"].(string)
	return ref, ok
}

func resolveRef(ref string, e *execution, started map[string]*execStep) (any, string) {
	kind, rest, _ := strings.Cut(ref, ".")
	switch kind {
	case "Parameters":
		if v, ok := e.params[rest]; ok {
			return v, ""
		}
	case "Steps":
		name, out, problem := parseStepRef(rest)
		if problem != "" {
			return nil, problem
		}
		if es := started[name]; es != nil {
			for _, o := range es.outputs {
				if o.Name == out {
					return o.Value, ""
				}
			}
		}
		return nil, fmt.Sprintf("Step %s did not send the output parameter '%s' that %s references.", name, out, ref)
	case "Execution":
		if value := executionVariables[rest]; value != nil {
			return value(e), ""
		}
	}
	return nil, fmt.Sprintf("The reference %s cannot be resolved.", ref)
}

// executionVariables are the values of the Get references "Execution.NAME"
// of an execution, by NAME: the ones resolveRef resolves, and so the ones
// parseDefinition accepts.
var executionVariables = map[string]func(e *execution) string{
	"PipelineExecutionArn": func(e *execution) string { return e.arn },
	"PipelineExecutionId":  func(e *execution) string { return e.arn[strings.LastIndexByte(e.arn, '/')+1:] },
	"PipelineName":         func(e *execution) string { return e.p.name },
	"PipelineArn":          func(e *execution) string { return e.p.arn },
	"StartDateTime":        func(e *execution) string { return e.created.UTC().Format(time.RFC3339) },
	"CurrentDateTime":      func(e *execution) string { return e.now().UTC().Format(time.RFC3339) },
}

// parseStepRef parses "S.OutputParameters['o']" into S and o.
func parseStepRef(rest string) (step, out, problem string) {
	step, prop, ok := strings.Cut(rest, ".OutputParameters[")
	if ok && len(prop) >= len("'o']") && (strings.HasPrefix(prop, "'") && strings.HasSuffix(prop, "']") || strings.HasPrefix(prop, `"`) && strings.HasSuffix(prop, `"]`)) {
		return step, prop[1 : len(prop)-2], ""
	}
	return "", "", fmt.Sprintf("The reference Steps.%s is not one the fake resolves: only Steps.NAME.OutputParameters['OUTPUT'].", rest)
}

// refs calls f with every Get reference in v.
func refs(v any, f func(string)) {
	switch v := v.(type) {
	case map[string]any:
		if ref, ok := getRef(v); ok {
			f(ref)
			return
		}
		for _, x := range v {
			refs(x, f)
		}
	case []any:
		for _, x := range v {
			refs(x, f)
		}
	}
}

// parseDefinition parses and checks a PipelineDefinition as the SageMaker
// Python SDK writes it. Its problem, "" for none, is the message of a
// ValidationException.
func parseDefinition(text string) (*definition, string) {
	var raw struct {
		Version    string
		Parameters []struct {
			Name         string
			Type         string
			DefaultValue any
		}
		Steps []struct {
			Name             string
			Type             string
			DisplayName      string
			Description      string
			Arguments        any
			DependsOn        []string
			SqsQueueUrl      string
			OutputParameters []struct{ OutputName, OutputType string }
		}
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return nil, fmt.Sprintf("Invalid pipeline definition: %s is a JSON %s, which it cannot be.", te.Field, te.Value)
		case errors.As(err, &te):
			return nil, fmt.Sprintf("Invalid pipeline definition: it is a JSON %s, not an object.", te.Value)
		case errors.As(err, &se):
			return nil, fmt.Sprintf("Invalid pipeline definition: it is not valid JSON (at byte %d).", se.Offset)
		}
		return nil, "Invalid pipeline definition: it is not valid JSON."
	}
	d := &definition{}
	params := make(map[string]bool)
	for _, p := range raw.Parameters {
		switch {
		case p.Name == "":
			return nil, "Invalid pipeline definition: a parameter has no Name."
		case params[p.Name]:
			return nil, fmt.Sprintf("Invalid pipeline definition: parameter %s is defined twice.", p.Name)
		}
		typ := p.Type
		if typ == "" {
			typ = "String"
		}
		switch typ {
		case "String", "Integer", "Float", "Boolean":
		default:
			return nil, fmt.Sprintf("Invalid pipeline definition: parameter %s has Type '%s', not String, Integer, Float or Boolean.", p.Name, typ)
		}
		v, problem := paramValue(typ, p.DefaultValue)
		if problem != "" {
			return nil, fmt.Sprintf("Invalid pipeline definition: parameter %s: %v", p.Name, problem)
		}
		params[p.Name] = true
		d.params = append(d.params, defParam{name: p.Name, typ: typ, value: v, hasDefault: p.DefaultValue != nil})
	}
	if len(raw.Steps) == 0 {
		return nil, "Invalid pipeline definition: it has no Steps."
	}
	steps := make(map[string]*defStep)
	for _, rs := range raw.Steps {
		switch {
		case rs.Name == "" || len(rs.Name) > 64 || strings.Trim(rs.Name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "":
			return nil, fmt.Sprintf("Invalid pipeline definition: step name '%s' must be 1 to 64 letters, digits, '-' and '_'.", rs.Name)
		case steps[rs.Name] != nil:
			return nil, fmt.Sprintf("Invalid pipeline definition: step name %s is used twice.", rs.Name)
		case rs.Type != "Callback":
			return nil, fmt.Sprintf("Step %s has type '%s': the fake (callbacktest) runs callback steps only (\"Type\": \"Callback\").", rs.Name, rs.Type)
		case rs.SqsQueueUrl == "":
			return nil, fmt.Sprintf("Invalid pipeline definition: callback step %s has no SqsQueueUrl.", rs.Name)
		}
		for _, o := range rs.OutputParameters {
			switch o.OutputType {
			case "", "String", "Integer", "Boolean", "Float":
			default:
				return nil, fmt.Sprintf("Invalid pipeline definition: output parameter %s of step %s has OutputType '%s', not String, Integer, Boolean or Float.", o.OutputName, rs.Name, o.OutputType)
			}
		}
		args, ok := rs.Arguments.(map[string]any)
		if rs.Arguments == nil {
			args = map[string]any{}
		} else if !ok {
			return nil, fmt.Sprintf("Invalid pipeline definition: the Arguments of step %s are not an object.", rs.Name)
		}
		if problem := checkJoins(args); problem != "" {
			return nil, problem
		}
		ds := &defStep{name: rs.Name, displayName: rs.DisplayName, description: rs.Description, arguments: args, queueURL: rs.SqsQueueUrl}
		ds.deps = append(ds.deps, rs.DependsOn...)
		steps[rs.Name] = ds
		d.steps = append(d.steps, ds)
	}
	for _, ds := range d.steps {
		var problem string
		refs(ds.arguments, func(ref string) {
			kind, rest, _ := strings.Cut(ref, ".")
			switch {
			case problem != "":
			case kind == "Parameters" && params[rest]:
			case kind == "Execution" && executionVariables[rest] != nil:
			case kind == "Steps":
				name, _, perr := parseStepRef(rest)
				switch {
				case perr != "":
					problem = perr
				case steps[name] == nil:
					problem = fmt.Sprintf("Invalid pipeline definition: step %s references step %s, which is not defined.", ds.name, name)
				default:
					ds.deps = append(ds.deps, name)
				}
			default:
				problem = fmt.Sprintf("Invalid pipeline definition: step %s references %s, which is not defined.", ds.name, ref)
			}
		})
		if problem != "" {
			return nil, problem
		}
		for _, dep := range ds.deps {
			if steps[dep] == nil {
				return nil, fmt.Sprintf("Invalid pipeline definition: step %s depends on step %s, which is not defined.", ds.name, dep)
			}
		}
	}
	if name := cycle(d.steps, steps); name != "" {
		return nil, fmt.Sprintf("Invalid pipeline definition: the dependencies of step %s form a cycle.", name)
	}
	return d, ""
}

// cycle returns the name of a step on a dependency cycle, or "".
func cycle(list []*defStep, steps map[string]*defStep) string {
	const (
		visiting = 1
		done     = 2
	)
	state := make(map[string]int)
	var visit func(ds *defStep) bool
	visit = func(ds *defStep) bool {
		switch state[ds.name] {
		case visiting:
			return true
		case done:
			return false
		}
		state[ds.name] = visiting
		for _, d := range ds.deps {
			if visit(steps[d]) {
				return true
			}
		}
		state[ds.name] = done
		return false
	}
	for _, ds := range list {
		if visit(ds) {
			return ds.name
		}
	}
	return ""
}

// paramValue checks a parameter's value (a DefaultValue as decoded, or a
// PipelineParameters string) against its type, and returns it as the
// messages carry it: a String as a string, an Integer or a Float as a
// number, a Boolean as a bool.
func paramValue(typ string, v any) (any, string) {
	if v == nil {
		return nil, ""
	}
	s := fmt.Sprint(v)
	switch typ {
	case "String":
		if _, ok := v.(string); !ok {
			return nil, fmt.Sprintf("the value %s is not a String", s)
		}
		return s, ""
	case "Integer":
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Sprintf("the value '%s' is not an Integer", s)
		}
		return json.Number(strconv.FormatInt(i, 10)), ""
	case "Float":
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Sprintf("the value '%s' is not a Float", s)
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), ""
	case "Boolean":
		switch s {
		case "true":
			return true, ""
		case "false":
			return false, ""
		}
		return nil, fmt.Sprintf("the value '%s' is not a Boolean", s)
	}
	return nil, fmt.Sprintf("Type '%s' is not String, Integer, Float or Boolean", typ)
}
