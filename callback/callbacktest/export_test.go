package callbacktest

import "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

// SetTestHook makes s call f with the operation of every well-formed request,
// after its members were decoded and before the rate limit, faults and
// processing. A panic in f shows how the server treats a panicking handler.
func SetTestHook(s *Server, f func(op string)) {
	if f == nil {
		s.testHook.Store(nil)
		return
	}
	s.testHook.Store(&f)
}

// ValidationMessage returns the ValidationException message the fake's own
// constraint table gives for the members of a request of op, "" when valid.
func ValidationMessage(op string, token, crt, reason *string, outputs []types.OutputParameter) string {
	m := members{token: token, crt: crt, reason: reason}
	if outputs != nil {
		m.outputs = make([]nameValue, len(outputs))
		for i, p := range outputs {
			m.outputs[i] = nameValue{p.Name, p.Value}
		}
	}
	return m.validationMessage(op)
}
