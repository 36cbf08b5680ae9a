from django.conf import settings
from django.contrib import admin
from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt
from django.views.static import serve
from docs import views

urlpatterns = [
    path("admin/", admin.site.urls),
    re_path(r"^echo/(?P<rest>.*)$", csrf_exempt(views.echo)),
    path("cookies/", views.cookies),
    re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
]
