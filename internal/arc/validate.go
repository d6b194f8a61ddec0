package arc

import (
	"context"

	"mailgate/internal/authres"
)

// Validate is Verify as the MX's authentication stage takes it
// (authres.ARCVerifier): the arc result of Authentication-Results and,
// when the chain passes, its sets for the trusted-sealer policy.
func Validate(ctx context.Context, r authres.TXTResolver, msg []byte) authres.ARC {
	res := Verify(ctx, r, msg)
	return authres.ARC{Result: res.Status, Reason: res.Reason, OldestPass: res.OldestPass, Sets: res.Sets}
}
