// Command pre-token-generation is the Cognito pre token generation trigger
// (functions.Lookup("pre-token-generation")).
package main

import "github.com/tre-egress/egress/shared/cognitoapp"

func main() { cognitoapp.Run("pre-token-generation") }
