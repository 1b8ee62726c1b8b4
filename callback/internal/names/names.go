package names

// The operations' names, as AWS's model and X-Amz-Target spell them.
const (
	OpFailure = "SendPipelineExecutionStepFailure"
	OpSuccess = "SendPipelineExecutionStepSuccess"
)

// The statuses a callback step's SQS message carries.
const (
	StatusExecuting = "Executing"
	StatusStopping  = "Stopping"
)
