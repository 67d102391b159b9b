package model_test

import (
	"resiltop/internal/model"
	"resiltop/internal/profile"
)

func init() { model.BuiltinProfiles = profile.Builtin() }
