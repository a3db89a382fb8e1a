#pragma once
// Test-only fault injection, compiled into binaries built with FRACSTUDY_FAULT_INJECTION.

namespace fracstudy::testing {

/// Reads FRACSTUDY_FAULT_INJECT=KIND:TASK_ID[,KIND:TASK_ID...] (KIND: throw, crash, hang,
/// abort; TASK_ID as in the first study's tasks table), which makes the first attempt of
/// each named task fail that way, and FRACSTUDY_TRACE_ATTEMPTS=FILE, which appends
/// "STUDY TASK_ID ATTEMPT" for every attempt started. Exits with code 2 on a bad value.
void install_fault_injection_from_environment();

}  // namespace fracstudy::testing
