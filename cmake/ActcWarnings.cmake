# Warning flags for actc's own sources (style.md §10); -Werror with ACTC_WERROR.
function(actc_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wwrite-strings -Wundef)
  if(ACTC_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

if(ACTC_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
