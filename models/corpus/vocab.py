"""The words on the pages: labels and titles per language, products, currencies, tax rates."""

from __future__ import annotations

from decimal import Decimal

T = {
    "en": {
        "invoice": ["INVOICE", "Invoice", "TAX INVOICE"],
        "receipt": ["RECEIPT", "Sales receipt", "Receipt"],
        "delivery_note": ["DELIVERY NOTE", "Packing slip", "Delivery note"],
        "purchase_order": ["PURCHASE ORDER", "Purchase order"],
        "payslip": ["PAYSLIP", "Earnings statement", "Pay stub"],
        "kyc_form": ["Customer identification form", "KNOW YOUR CUSTOMER (KYC) FORM", "Account opening - identity"],
        "mandate": ["Direct debit authorization", "SEPA DIRECT DEBIT MANDATE", "Recurring payment authorization"],
        "contract": ["RESIDENTIAL LEASE AGREEMENT", "SERVICE AGREEMENT", "EMPLOYMENT CONTRACT", "Consulting agreement"],
        "other": ["MEMORANDUM", "Meeting minutes", "NOTICE", "Certificate of attendance", "Internal note"],
        "number": "No.", "date": "Date", "due": "Due date", "bill_to": "Bill to", "ship_to": "Ship to",
        "from": "From", "desc": "Description", "qty": "Qty", "unit": "Unit price", "amount": "Amount",
        "subtotal": "Subtotal", "tax": "Tax", "total": "Total", "total_due": "Total due",
        "signature": "Signature", "sign_here": "Sign here", "client": "Client", "supplier": "Supplier",
        "received": "Received in good condition by", "driver": "Driver", "approved": "Approved by",
        "authorized": "Authorized signature", "employee": "Employee", "employer": "Employer",
        "witness": "Witness", "landlord": "Landlord", "tenant": "Tenant", "guarantor": "Guarantor",
        "customer": "Customer", "date_place": "Date and place", "thanks": "Thank you for your business!",
        "page": "Page {i} of {n}", "order_ref": "Order ref.", "vendor": "Vendor", "terms": "Payment terms: {d} days",
        "iban": "IBAN", "bic": "BIC", "scan_pay": "Scan to pay", "name": "Full name", "dob": "Date of birth",
        "nationality": "Nationality", "id_doc": "ID document", "id_no": "Document number", "address": "Address",
        "occupation": "Occupation", "email": "Email", "phone": "Phone", "gross": "Gross pay", "net": "Net pay",
        "period": "Pay period", "deductions": "Deductions", "hours": "Hours", "rate": "Rate",
        "creditor": "Creditor", "creditor_id": "Creditor identifier", "mandate_ref": "Mandate reference",
        "debtor": "Debtor", "account": "Account holder", "cashier": "Cashier", "paid_card": "Paid by card",
        "dear": "Dear {n},", "regards": ["Sincerely,", "Best regards,", "Kind regards,", "Yours faithfully,"],
        "subject": "Subject", "item": "Item", "ordered": "Ordered", "delivered": "Delivered",
    },
    "fr": {
        "invoice": ["FACTURE", "Facture", "FACTURE N°"],
        "receipt": ["TICKET DE CAISSE", "Reçu", "REÇU"],
        "delivery_note": ["BON DE LIVRAISON", "Bon de livraison"],
        "purchase_order": ["BON DE COMMANDE", "Bon de commande"],
        "payslip": ["BULLETIN DE PAIE", "Bulletin de salaire"],
        "kyc_form": ["Fiche d'identification client", "FORMULAIRE KYC - CONNAISSANCE CLIENT", "Ouverture de compte"],
        "mandate": ["MANDAT DE PRÉLÈVEMENT SEPA", "Mandat de prélèvement SEPA", "Autorisation de prélèvement"],
        "contract": ["CONTRAT DE BAIL", "CONTRAT DE PRESTATION DE SERVICES", "CONTRAT DE TRAVAIL", "Contrat de location"],
        "other": ["NOTE DE SERVICE", "Compte rendu de réunion", "AVIS", "Attestation", "Note interne"],
        "number": "N°", "date": "Date", "due": "Échéance", "bill_to": "Facturer à", "ship_to": "Livrer à",
        "from": "De", "desc": "Désignation", "qty": "Qté", "unit": "Prix unitaire", "amount": "Montant",
        "subtotal": "Total HT", "tax": "TVA", "total": "Total TTC", "total_due": "Net à payer",
        "signature": "Signature", "sign_here": "Signez ici", "client": "Le client", "supplier": "Le fournisseur",
        "received": "Reçu en bon état par", "driver": "Le livreur", "approved": "Approuvé par",
        "authorized": "Signature autorisée", "employee": "Le salarié", "employer": "L'employeur",
        "witness": "Témoin", "landlord": "Le bailleur", "tenant": "Le locataire", "guarantor": "La caution",
        "customer": "Le client", "date_place": "Fait à ... le ...", "thanks": "Merci de votre visite !",
        "page": "Page {i}/{n}", "order_ref": "Réf. commande", "vendor": "Fournisseur",
        "terms": "Paiement à {d} jours", "iban": "IBAN", "bic": "BIC", "scan_pay": "Scannez pour payer",
        "name": "Nom et prénom", "dob": "Date de naissance", "nationality": "Nationalité",
        "id_doc": "Pièce d'identité", "id_no": "Numéro", "address": "Adresse", "occupation": "Profession",
        "email": "Courriel", "phone": "Téléphone", "gross": "Salaire brut", "net": "Net à payer",
        "period": "Période", "deductions": "Cotisations", "hours": "Heures", "rate": "Taux",
        "creditor": "Créancier", "creditor_id": "ICS", "mandate_ref": "Référence unique du mandat",
        "debtor": "Débiteur", "account": "Titulaire du compte", "cashier": "Caissier", "paid_card": "Payé par CB",
        "dear": "Madame, Monsieur,", "regards": ["Cordialement,", "Veuillez agréer nos salutations distinguées.",
                                                 "Bien à vous,"],
        "subject": "Objet", "item": "Article", "ordered": "Commandé", "delivered": "Livré",
    },
}  # fmt: skip

# How tills word a receipt besides the plain one in T. Many countries with a GST or VAT require
# the receipt to be titled "Tax invoice" (a simplified one for small sums), so a receipt's title
# alone does not tell it from an invoice; its layout, its till and its cash lines do.
RECEIPT = {
    "en": {
        "titles": ["TAX INVOICE", "SIMPLIFIED TAX INVOICE", "CASH RECEIPT", "CASH SALE", "Till receipt",
                   "SALES RECEIPT", "Customer copy"],
        "number": ["No.", "Receipt No.", "Receipt #", "Trans #", "Doc No.", "Bill No."],
        "till": ["Till", "Terminal", "Counter", "POS"],
        "tax_id": ["VAT Reg No.", "GST Reg No.", "VAT No.", "GST ID:"],
        "total_qty": "Total qty",
        "before_tax": ["Total excl. tax", "Subtotal", "Net amount"],
        "to_pay": ["TOTAL", "Total payable", "Amount payable", "Total to pay", "Total incl. tax"],
        "cash": "Cash", "change": "Change",
        "footer": ["Thank you, please come again", "Goods sold are not returnable", "Keep your receipt",
                   "Thank you for shopping with us"],
    },
    "fr": {
        "titles": ["FACTURE SIMPLIFIÉE", "TICKET", "Ticket client", "NOTE", "DUPLICATA"],
        "number": ["N°", "Ticket n°", "N° de ticket", "N° transaction"],
        "till": ["Caisse", "Terminal", "TPE"],
        "tax_id": ["TVA intracom.", "N° TVA", "SIRET"],
        "total_qty": "Nombre d'articles",
        "before_tax": ["Total HT", "Montant HT"],
        "to_pay": ["TOTAL TTC", "Net à payer", "À PAYER", "Total TTC"],
        "cash": "Espèces", "change": "Rendu",
        "footer": ["Merci et à bientôt", "Conservez votre ticket", "Ni repris ni échangé"],
    },
}  # fmt: skip

# A service invoice's account block (see content._account_lines).
ACCOUNT = {
    "en": {"account": ["Account number", "Account no.", "Account ID"], "customer": ["Customer ID", "Customer number"],
           "period": "Billing period", "contact": ["Email", "Contact email"], "line": "Phone number"},
    "fr": {"account": ["N° de compte", "Compte client"], "customer": ["Id. client", "Référence client", "N° client"],
           "period": "Période de facturation", "contact": ["Adresse email de contact", "Courriel"],
           "line": "Numéro de ligne"},
}  # fmt: skip

PRODUCTS = {
    "en": ["Office chair", "Printer paper A4 (box)", "Consulting hours", "Laptop stand", "Toner cartridge",
           "Maintenance visit", "Software licence", "Desk lamp", "USB-C cable", "Cleaning service",
           "Catering", "Shipping", "Monitor 27in", "Filing cabinet", "Training session", "Coffee beans 1kg"],
    "fr": ["Chaise de bureau", "Ramette papier A4", "Heures de conseil", "Support ordinateur", "Cartouche toner",
           "Visite de maintenance", "Licence logiciel", "Lampe de bureau", "Câble USB-C", "Prestation ménage",
           "Traiteur", "Frais de port", "Écran 27 pouces", "Armoire de classement", "Session de formation",
           "Café en grains 1 kg"],
}  # fmt: skip

CURRENCIES = {"en": ["USD"] * 6 + ["GBP", "EUR"], "fr": ["EUR"] * 9 + ["CHF"]}
TAX_RATES = {"en": [Decimal("0"), Decimal("0.05"), Decimal("0.0725"), Decimal("0.08"), Decimal("0.20")],
             "fr": [Decimal("0.20"), Decimal("0.20"), Decimal("0.10"), Decimal("0.055")]}  # fmt: skip
