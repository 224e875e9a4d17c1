# SOCKFAULT_SANITIZE=address,undefined (or thread) instruments executables and tests.
# The shim itself cannot carry the ASan/TSan runtime (it is preloaded into programs that
# were not built with it), so it gets trapping UBSan only, which needs no runtime:
# sockfault_shim_sanitize(target) applies that.
set(SF_SAN_FLAGS "")
if(SOCKFAULT_SANITIZE)
  set(SF_SAN_FLAGS -fsanitize=${SOCKFAULT_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_compile_options(${SF_SAN_FLAGS})
  add_link_options(${SF_SAN_FLAGS})
endif()

function(sockfault_shim_sanitize target)
  if(SOCKFAULT_SANITIZE)
    # Later flags win: drop the runtime sanitizers, keep runtime-free trapping UBSan.
    target_compile_options(${target} PRIVATE -fno-sanitize=all -fsanitize=undefined -fsanitize-trap=all)
    target_link_options(${target} PRIVATE -fno-sanitize=all)
  endif()
endfunction()
