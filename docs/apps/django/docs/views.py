from django.http import HttpResponse, JsonResponse


def echo(request, rest=""):
    return JsonResponse({
        "method": request.method,
        "path": request.path,
        "path_info": request.path_info,
        "rest": rest,
        "GET": {k: request.GET.getlist(k) for k in request.GET},
        "POST": {k: request.POST.getlist(k) for k in request.POST},
        "FILES": {k: [f.name for f in request.FILES.getlist(k)] for k in request.FILES},
        "cookies": request.COOKIES,
        "headers": {k: v for k, v in request.headers.items()},
        "body_len": len(request.body) if not request.FILES else None,
    }, json_dumps_params={"ensure_ascii": False})

def cookies(request):
    r = HttpResponse("three cookies\n", content_type="text/plain")
    r.set_cookie("a", "1", httponly=True)
    r.set_cookie("b", "2", path="/echo/")
    r.set_cookie("c", "3", max_age=60, samesite="Lax")
    return r
