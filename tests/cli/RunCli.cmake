# Runs EXE with ARGS (a ;-list); fails unless the exit code is EXPECT_EXIT and the combined
# stdout+stderr matches EXPECT_MATCH.
if(NOT RUN_TIMEOUT)
  set(RUN_TIMEOUT 110)
endif()
execute_process(COMMAND ${EXE} ${ARGS}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT ${RUN_TIMEOUT})
set(all "${out}${err}")
if(NOT "${rc}" STREQUAL "${EXPECT_EXIT}")
  message(FATAL_ERROR "exit code ${rc}, expected ${EXPECT_EXIT}\n--- output ---\n${all}")
endif()
if(NOT "${all}" MATCHES "${EXPECT_MATCH}")
  message(FATAL_ERROR "output does not match '${EXPECT_MATCH}'\n--- output ---\n${all}")
endif()
