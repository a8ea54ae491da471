package tiapi_test

import (
	"encoding/hex"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/examgate/examgate/tiapi/titest"
)

func FuzzVerify(f *testing.F) {
	f.Add(signLaunch(f, secret, validToken()))
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, baseClaims()).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(none)
	f.Add("garbage")
	f.Add(signLaunch(f, oldSecret, titest.LaunchToken{Email: "a@b.c", CourseID: "1", IssuedAt: launchNow}))
	f.Add(signClaims(f, baseClaims()))

	v := newVerifier()
	f.Fuzz(func(t *testing.T, raw string) {
		claims, err := v.Verify(raw)
		if (claims == nil) == (err == nil) {
			t.Fatalf("Verify returned claims %v and error %v", claims, err)
		}
		if err != nil {
			return
		}
		if claims.Email == "" || claims.CourseID == "" {
			t.Fatalf("accepted claims without email or course: %+v", claims)
		}
		if b, err := hex.DecodeString(claims.TokenID); err != nil || len(b) != 32 {
			t.Fatalf("TokenID %q is not 64 hex digits", claims.TokenID)
		}
	})
}
