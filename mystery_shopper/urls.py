app_name = "mystery_shopper"

urlpatterns: list = []
