package callbacktest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
)

// TestDefinitionRefusedAtCreate checks that a definition the fake cannot run
// is refused by CreatePipeline with a message that names what is wrong, in
// the definition's own terms: a parameter of an unknown Type (it was
// accepted, and every StartPipelineExecution then refused), an Execution
// variable that does not exist (accepted, and each step then failed as it
// started), and a member of the wrong JSON type (the message showed the Go
// struct the fake decodes into).
func TestDefinitionRefusedAtCreate(t *testing.T) {
	srv := newServer(t)
	step := fmt.Sprintf(`{"Name":"a","Type":"Callback","SqsQueueUrl":%q%%s}`, srv.QueueURL())
	for def, want := range map[string]string{
		`{"Parameters":[{"Name":"p","Type":"Map"}],"Steps":[` + fmt.Sprintf(step, "") + `]}`:   "parameter p has Type 'Map', not String, Integer, Float or Boolean",
		`{"Steps":[` + fmt.Sprintf(step, `,"Arguments":{"x":{"Get":"Execution.Nope"}}`) + `]}`: "references Execution.Nope, which is not defined",
		`{"Steps":[` + fmt.Sprintf(step, `,"DependsOn":[1]`) + `]}`:                            "Invalid pipeline definition: Steps.DependsOn is a JSON number, which it cannot be.",
		`{"Steps":[` + fmt.Sprintf(step, `,"DependsOn":"b"`) + `]}`:                            "Invalid pipeline definition: Steps.DependsOn is a JSON string, which it cannot be.",
		`{"Version":1,"Steps":[` + fmt.Sprintf(step, "") + `]}`:                                "Invalid pipeline definition: Version is a JSON number, which it cannot be.",
		`[]`:          "Invalid pipeline definition: it is a JSON array, not an object.",
		`{"Steps":`:   "Invalid pipeline definition: it is not valid JSON.",
		`{"Steps":[}`: "Invalid pipeline definition: it is not valid JSON (at byte 11).",
	} {
		_, err := srv.Client().CreatePipeline(ctxT(t), &sagemaker.CreatePipelineInput{PipelineName: aws.String("p"), PipelineDefinition: aws.String(def), RoleArn: aws.String(roleARN)}, noRetry)
		checkAPIError(t, srv, err, "ValidationException", http.StatusBadRequest)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "Go ") || strings.Contains(err.Error(), "struct") {
			t.Errorf("definition %s: %v, want %q", def, err, want)
		}
	}
}
