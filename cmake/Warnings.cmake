# Warnings for every target of ours; -Werror when SOCKFAULT_WERROR (CI turns it on).
add_compile_options(-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
                    -Wformat=2 -Wvla -Wno-unused-parameter)
if(SOCKFAULT_WERROR)
  add_compile_options(-Werror)
endif()
