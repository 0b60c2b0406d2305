module tssgate

go 1.26.8

require (
	cel.dev/cel-go v0.33.2 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
