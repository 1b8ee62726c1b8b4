package callbacktest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
	"github.com/stepcallback/sagemaker-callback/validate"
)

// TestConstraintsAgreeWithValidate checks that the fake's own constraint
// table, written from AWS's service model, and package validate's agree on
// every member at and around its limits: the fake does not use validate, so
// a mistake in either shows here.
func TestConstraintsAgreeWithValidate(t *testing.T) {
	rep := func(s string, n int) *string { return aws.String(strings.Repeat(s, n)) }
	const tok, crt = "AbCdE12345", "0123456789abcdef0123456789abcdef"
	strs := map[string][]*string{
		"token":  {nil, aws.String(""), rep("a", 9), rep("a", 10), rep("a", 11), aws.String("AbCdE1234-"), aws.String("AbCdE1234é"), aws.String("AbCdE1234\n"), rep("٣", 10)},
		"crt":    {nil, aws.String(""), rep("c", 31), rep("c", 32), rep("é", 128), rep("c", 129)},
		"reason": {nil, aws.String(""), rep("é", 256), rep("x", 257), rep("€", 257)},
		"name":   {nil, aws.String(""), rep("é", 256), rep("n", 257)},
		"value":  {nil, aws.String(""), rep("€", 1024), rep("v", 1025)},
	}
	agree := func(what string, fake string, err error) {
		t.Helper()
		if (fake == "") != (err == nil) {
			t.Errorf("%s: the fake says %q, validate says %v", what, fake, err)
		}
	}
	show := func(p *string) string {
		if p == nil {
			return "nil"
		}
		return fmt.Sprintf("%.12q (%d code points)", *p, len([]rune(*p)))
	}
	for _, v := range strs["token"] {
		agree("token "+show(v), callbacktest.ValidationMessage(callbacktest.OpFailure, v, nil, nil, nil),
			validate.FailureInput(&sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: v}))
	}
	for _, v := range strs["crt"] {
		agree("ClientRequestToken "+show(v), callbacktest.ValidationMessage(callbacktest.OpSuccess, aws.String(tok), v, nil, nil),
			validate.SuccessInput(&sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String(tok), ClientRequestToken: v}))
	}
	for _, v := range strs["reason"] {
		agree("FailureReason "+show(v), callbacktest.ValidationMessage(callbacktest.OpFailure, aws.String(tok), aws.String(crt), v, nil),
			validate.FailureInput(&sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok), ClientRequestToken: aws.String(crt), FailureReason: v}))
	}
	success := func(what string, params []types.OutputParameter) {
		agree(what, callbacktest.ValidationMessage(callbacktest.OpSuccess, aws.String(tok), nil, nil, params),
			validate.SuccessInput(&sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String(tok), OutputParameters: params}))
	}
	for _, v := range strs["name"] {
		success("Name "+show(v), []types.OutputParameter{{Name: v, Value: aws.String("v")}})
	}
	for _, v := range strs["value"] {
		success("Value "+show(v), []types.OutputParameter{{Name: aws.String("k"), Value: v}})
	}
	for _, n := range []int{0, 1, 50, 51} {
		params := make([]types.OutputParameter, n)
		for i := range params {
			params[i] = types.OutputParameter{Name: aws.String(fmt.Sprint("k", i)), Value: aws.String("v")}
		}
		success(fmt.Sprint(n, " output parameters"), params)
	}
}
