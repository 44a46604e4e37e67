package kafkautil

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/aws"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/projectorhq/projector/config"
)

// tokenTimeout bounds one request to a token endpoint or for AWS
// credentials: a sign-in that hangs would hold the connection's dial.
const tokenTimeout = 30 * time.Second

// mskIAM signs in to Amazon MSK with AWS credentials from the AWS SDK's
// default chain: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and
// AWS_SESSION_TOKEN), AWS_PROFILE's shared files, a web identity (EKS's
// IRSA, AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE), an ECS task role or
// an EC2 instance role. The SDK caches them and fetches them again before
// they expire; franz-go signs each sign-in with them (SigV4, the region
// from the broker's host name, else AWS_REGION).
func mskIAM() (sasl.Mechanism, error) {
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		return nil, fmt.Errorf("%w: kafka.sasl.mechanism aws_msk_iam: AWS configuration: %w", ErrSecurity, err)
	}
	return aws.ManagedStreamingIAM(func(ctx context.Context) (aws.Auth, error) {
		ctx, cancel := context.WithTimeout(ctx, tokenTimeout)
		defer cancel()
		c, err := cfg.Credentials.Retrieve(ctx)
		if err != nil {
			return aws.Auth{}, fmt.Errorf("%w: aws_msk_iam: no AWS credentials: %w", ErrSecurity, err)
		}
		return aws.Auth{AccessKey: c.AccessKeyID, SecretKey: c.SecretAccessKey, SessionToken: c.SessionToken}, nil
	}), nil
}

// oauthBearer presents a token of the OAuth 2.0 client-credentials grant
// (RFC 6749 4.4) at s.TokenURL, cached by tokenCache: every connection of
// every client shares it.
func oauthBearer(s *config.SASL) sasl.Mechanism {
	cc := clientcredentials.Config{
		ClientID:     s.ClientID,
		ClientSecret: string(s.ClientSecret),
		TokenURL:     s.TokenURL,
		Scopes:       strings.Fields(s.Scope),
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Timeout: tokenTimeout})
	tokens := &tokenCache{fetch: func() (*oauth2.Token, error) {
		t, err := cc.Token(ctx)
		return t, redactURL(err)
	}}
	var ext map[string]string
	if len(s.Extensions) > 0 {
		ext = make(map[string]string, len(s.Extensions))
		for _, e := range s.Extensions {
			ext[e.Key] = e.Value
		}
	}
	return oauth.Oauth(func(context.Context) (oauth.Auth, error) {
		t, err := tokens.Token()
		if err != nil {
			return oauth.Auth{}, fmt.Errorf("%w: oauthbearer: no token from kafka.sasl.token_url: %w", ErrSecurity, err)
		}
		return oauth.Auth{Token: t.AccessToken, Extensions: ext}, nil
	})
}

// redactURL hides what a URL in err may carry of secrets (a password, a
// query): the HTTP client quotes the whole token URL in its errors, which
// end up in logs and /readyz.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			if u.RawQuery != "" {
				u.RawQuery = "…"
			}
			ue.URL = u.Redacted()
		} else {
			ue.URL = "kafka.sasl.token_url"
		}
	}
	return err
}

// tokenCache keeps a token until shortly before it expires. The endpoint
// says when by expires_in; a token without it that is a JWT says so by its
// exp claim (RFC 9068), read without checking the signature, which is the
// broker's business. A token that says neither is fetched again at each
// sign-in: kept, it would be presented after it expired, refused on every
// retry until a restart.
type tokenCache struct {
	fetch func() (*oauth2.Token, error)
	mu    sync.Mutex
	cur   *oauth2.Token
}

// tokenMargin is how long before its expiry a token is fetched again: a
// sign-in in flight must not present one the broker finds expired.
const tokenMargin = 30 * time.Second

func (c *tokenCache) Token() (*oauth2.Token, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != nil && time.Until(c.cur.Expiry) > tokenMargin {
		return c.cur, nil
	}
	t, err := c.fetch()
	if err != nil {
		if c.cur != nil && time.Now().Before(c.cur.Expiry) {
			return c.cur, nil // not expired yet: the next sign-in asks again
		}
		return nil, err
	}
	if t.Expiry.IsZero() {
		t.Expiry = jwtExpiry(t.AccessToken)
	}
	c.cur = t
	return t, nil
}

// jwtExpiry is the exp claim of a JWT; zero when token is not one or has
// none.
func jwtExpiry(token string) time.Time {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}
	}
	var claims struct {
		Exp float64 `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp <= 0 {
		return time.Time{}
	}
	return time.Unix(int64(claims.Exp), 0)
}
