"""Zoho's standard modules and their standard fields, as data (seeded on first start).

Each module: api_name, singular, plural, scope (lower-case scope name used in OAuth scopes),
dup_check (system-defined duplicate-check field api_name or None), fields (list of field specs).

Field spec keys (only api_name, label, type are required):
  api_name, label, type       data_type: text textarea email phone website integer bigint double
                              currency percent decimal boolean date datetime picklist
                              multiselectpicklist lookup ownerlookup subform
  length: int                 max characters (text/email/phone/website/textarea) or digits
  mandatory: bool             system_mandatory
  read_only: bool             field cannot be written over the API
  unique: bool                "Do not allow duplicate values" (case-insensitive for email/text)
  pick_list: list[str]        picklist / multiselectpicklist values, in display order
  lookup: str                 target module api_name for lookup fields
  textarea: "small"|"large"   for textarea
  mass_update: bool           override of the default (see registry)

The fields common to every module (Owner, Created_By, Modified_By, Created_Time, Modified_Time,
Tag, Layout ...) are added by the registry, not listed here.
"""

from __future__ import annotations

from typing import Any

ModuleSpec = dict[str, Any]
FieldSpec = dict[str, Any]


# --------------------------------------------------------------------------------------------
# Small builders: they only assemble the dicts described in the module docstring.
# --------------------------------------------------------------------------------------------


def _f(api_name: str, label: str, type_: str, **extra: Any) -> FieldSpec:
    spec: FieldSpec = {"api_name": api_name, "label": label, "type": type_}
    spec.update(extra)
    return spec


def _text(api_name: str, label: str, length: int = 255, **extra: Any) -> FieldSpec:
    return _f(api_name, label, "text", length=length, **extra)


def _textarea(api_name: str, label: str, size: str = "large", **extra: Any) -> FieldSpec:
    return _f(api_name, label, "textarea", textarea=size,
              length=32000 if size == "large" else 2000, **extra)


def _pick(api_name: str, label: str, values: list[str], **extra: Any) -> FieldSpec:
    return _f(api_name, label, "picklist", pick_list=list(values), **extra)


def _lookup(api_name: str, label: str, module: str, **extra: Any) -> FieldSpec:
    return _f(api_name, label, "lookup", lookup=module, **extra)


def _address(prefix: str, label: str, zip_suffix: str) -> list[FieldSpec]:
    """Street/City/State/<zip>/Country block, e.g. Billing_Street ... Billing_Code."""
    return [
        _text(f"{prefix}_Street", f"{label} Street", 250),
        _text(f"{prefix}_City", f"{label} City", 100),
        _text(f"{prefix}_State", f"{label} State", 100),
        _text(f"{prefix}_{zip_suffix}", f"{label} {zip_suffix.replace('_', ' ')}", 30),
        _text(f"{prefix}_Country", f"{label} Country", 100),
    ]


def _plain_address() -> list[FieldSpec]:
    """Street/City/State/Zip_Code/Country (Leads, Vendors)."""
    return [
        _text("Street", "Street", 250),
        _text("City", "City", 100),
        _text("State", "State", 100),
        _text("Zip_Code", "Zip Code", 30),
        _text("Country", "Country", 100),
    ]


def _inventory_amounts() -> list[FieldSpec]:
    """Amount summary of Quotes / Sales Orders / Purchase Orders / Invoices."""
    return [
        _f("Sub_Total", "Sub Total", "currency", read_only=True),
        _f("Discount", "Discount", "currency"),
        _f("Tax", "Tax", "currency"),
        _f("Adjustment", "Adjustment", "currency"),
        _f("Grand_Total", "Grand Total", "currency", read_only=True),
    ]


def _inventory_tail() -> list[FieldSpec]:
    """Billing/Shipping address, terms and description of inventory modules."""
    return [
        *_address("Billing", "Billing", "Code"),
        *_address("Shipping", "Shipping", "Code"),
        _textarea("Terms_and_Conditions", "Terms and Conditions"),
        _textarea("Description", "Description"),
    ]


# --------------------------------------------------------------------------------------------
# Standard picklist values
# --------------------------------------------------------------------------------------------

SALUTATIONS = ["-None-", "Mr.", "Mrs.", "Ms.", "Dr.", "Prof."]

LEAD_SOURCES = [
    "-None-", "Advertisement", "Cold Call", "Employee Referral", "External Referral",
    "Online Store", "Partner", "Public Relations", "Sales Email Alias", "Seminar Partner",
    "Internal Seminar", "Trade Show", "Web Download", "Web Research", "Chat", "X (Twitter)",
    "Facebook",
]

LEAD_STATUSES = [
    "-None-", "Attempted to Contact", "Contact in Future", "Contacted", "Junk Lead",
    "Lost Lead", "Not Contacted", "Pre-Qualified", "Not Qualified",
]

INDUSTRIES = [
    "-None-", "ASP (Application Service Provider)", "Data/Telecom OEM",
    "ERP (Enterprise Resource Planning)", "Government/Military", "Large Enterprise",
    "ManagementISV", "MSP (Management Service Provider)", "Network Equipment Enterprise",
    "Non-management ISV", "Optical Networking", "Service Provider", "Small/Medium Enterprise",
    "Storage Equipment", "Storage Service Provider", "Systems Integrator", "Wireless Industry",
]

RATINGS = ["-None-", "Acquired", "Active", "Market Failed", "Project Cancelled", "Shut Down"]

ACCOUNT_TYPES = [
    "-None-", "Analyst", "Competitor", "Customer", "Distributor", "Integrator", "Investor",
    "Other", "Partner", "Press", "Prospect", "Reseller", "Supplier", "Vendor",
]

OWNERSHIPS = [
    "-None-", "Other", "Private", "Public", "Subsidiary", "Partnership", "Government",
    "Privately Held", "Public Company",
]

# Zoho's standard Deal stages and the probability (%) each sets (Setup > Customization >
# Pipelines: "Stage-Probability Mapping").
DEAL_STAGE_PROBABILITY: dict[str, int] = {
    "Qualification": 10, "Needs Analysis": 20, "Value Proposition": 40,
    "Id. Decision Makers": 60, "Perception Analysis": 70, "Proposal/Price Quote": 75,
    "Negotiation/Review": 90, "Closed Won": 100, "Closed Lost": 0,
    "Closed Lost to Competition": 0,
}
DEAL_STAGES = list(DEAL_STAGE_PROBABILITY)

CARRIERS = ["-None-", "FedEX", "UPS", "USPS", "DHL", "BlueDart"]

ORDER_STATUSES = ["-None-", "Created", "Approved", "Delivered", "Cancelled"]

MEMBER_STATUSES = [
    "-None-", "Planned", "Invited", "Sent", "Received", "Opened", "Responded", "Bounced",
    "Opted Out",
]

# Zoho's default contact roles (Setup > Customization > Contact Roles).
CONTACT_ROLES = ["Purchasing", "Technical Buyer", "Economic Buyer", "Evaluator",
                 "Executive Sponsor", "Influencer", "Product Management", "Developer/Evaluator",
                 "Decision Maker", "Other"]

WEEK_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

# Note on activity lookups: Who_Id points to Contacts; What_Id ("Related To") is a
# multi-module lookup in Zoho (Leads, Accounts, Deals, ... chosen through "$se_module").
# Its "lookup" below names the default target module only.

# --------------------------------------------------------------------------------------------
# Modules
# --------------------------------------------------------------------------------------------

STANDARD_MODULES: list[ModuleSpec] = [
    {
        "api_name": "Leads",
        "singular": "Lead",
        "plural": "Leads",
        "scope": "leads",
        "dup_check": "Email",
        "fields": [
            _pick("Salutation", "Salutation", SALUTATIONS),
            _text("First_Name", "First Name", 40),
            _text("Last_Name", "Last Name", 80, mandatory=True),
            _text("Full_Name", "Lead Name", 120, read_only=True),
            _f("Email", "Email", "email", length=100, unique=True),
            _f("Secondary_Email", "Secondary Email", "email", length=100),
            _text("Company", "Company", 200),
            _text("Designation", "Title", 100),
            _f("Phone", "Phone", "phone", length=30),
            _f("Mobile", "Mobile", "phone", length=30),
            _f("Fax", "Fax", "phone", length=30),
            _f("Website", "Website", "website", length=255),
            _pick("Lead_Source", "Lead Source", LEAD_SOURCES),
            _pick("Lead_Status", "Lead Status", LEAD_STATUSES),
            _pick("Industry", "Industry", INDUSTRIES),
            _f("No_of_Employees", "No. of Employees", "integer"),
            _f("Annual_Revenue", "Annual Revenue", "currency"),
            _pick("Rating", "Rating", RATINGS),
            _f("Email_Opt_Out", "Email Opt Out", "boolean"),
            _text("Skype_ID", "Skype ID", 50),
            _text("Twitter", "Twitter", 50),
            *_plain_address(),
            _textarea("Description", "Description"),
            _f("Last_Activity_Time", "Last Activity Time", "datetime", read_only=True),
            _f("Converted_Date_Time", "Converted Date Time", "datetime", read_only=True),
            _f("Converted__s", "Is Converted", "boolean", read_only=True),
            _lookup("Converted_Account", "Converted Account", "Accounts", read_only=True),
            _lookup("Converted_Contact", "Converted Contact", "Contacts", read_only=True),
            _lookup("Converted_Deal", "Converted Deal", "Deals", read_only=True),
        ],
    },
    {
        "api_name": "Contacts",
        "singular": "Contact",
        "plural": "Contacts",
        "scope": "contacts",
        "dup_check": "Email",
        "fields": [
            _pick("Salutation", "Salutation", SALUTATIONS),
            _text("First_Name", "First Name", 40),
            _text("Last_Name", "Last Name", 80, mandatory=True),
            _text("Full_Name", "Contact Name", 120, read_only=True),
            _f("Email", "Email", "email", length=100, unique=True),
            _f("Secondary_Email", "Secondary Email", "email", length=100),
            _lookup("Account_Name", "Account Name", "Accounts"),
            _lookup("Vendor_Name", "Vendor Name", "Vendors"),
            _pick("Lead_Source", "Lead Source", LEAD_SOURCES),
            _text("Title", "Title", 100),
            _text("Department", "Department", 100),
            _f("Phone", "Phone", "phone", length=30),
            _f("Other_Phone", "Other Phone", "phone", length=30),
            _f("Home_Phone", "Home Phone", "phone", length=30),
            _f("Mobile", "Mobile", "phone", length=30),
            _f("Fax", "Fax", "phone", length=30),
            _text("Assistant", "Assistant", 100),
            _f("Asst_Phone", "Asst Phone", "phone", length=30),
            _f("Date_of_Birth", "Date of Birth", "date"),
            _lookup("Reports_To", "Reports To", "Contacts"),
            _f("Email_Opt_Out", "Email Opt Out", "boolean"),
            _text("Skype_ID", "Skype ID", 50),
            _text("Twitter", "Twitter", 50),
            *_address("Mailing", "Mailing", "Zip"),
            *_address("Other", "Other", "Zip"),
            _textarea("Description", "Description"),
            _f("Last_Activity_Time", "Last Activity Time", "datetime", read_only=True),
        ],
    },
    {
        "api_name": "Accounts",
        "singular": "Account",
        "plural": "Accounts",
        "scope": "accounts",
        "dup_check": "Account_Name",
        "fields": [
            _text("Account_Name", "Account Name", 200, mandatory=True),
            _text("Account_Site", "Account Site", 30),
            _lookup("Parent_Account", "Parent Account", "Accounts"),
            _f("Account_Number", "Account Number", "bigint", length=18),
            _pick("Account_Type", "Account Type", ACCOUNT_TYPES),
            _pick("Industry", "Industry", INDUSTRIES),
            _f("Annual_Revenue", "Annual Revenue", "currency"),
            _f("Employees", "Employees", "integer"),
            _pick("Ownership", "Ownership", OWNERSHIPS),
            _pick("Rating", "Rating", RATINGS),
            _f("SIC_Code", "SIC Code", "integer"),
            _text("Ticker_Symbol", "Ticker Symbol", 30),
            _f("Phone", "Phone", "phone", length=30),
            _f("Fax", "Fax", "phone", length=30),
            _f("Website", "Website", "website", length=255),
            *_address("Billing", "Billing", "Code"),
            *_address("Shipping", "Shipping", "Code"),
            _textarea("Description", "Description"),
            _f("Last_Activity_Time", "Last Activity Time", "datetime", read_only=True),
        ],
    },
    {
        "api_name": "Deals",
        "singular": "Deal",
        "plural": "Deals",
        "scope": "deals",
        "dup_check": "Deal_Name",
        "fields": [
            _text("Deal_Name", "Deal Name", 120, mandatory=True),
            _f("Amount", "Amount", "currency"),
            _f("Closing_Date", "Closing Date", "date"),
            _pick("Stage", "Stage", DEAL_STAGES, mandatory=True),
            _f("Probability", "Probability (%)", "percent"),
            _f("Expected_Revenue", "Expected Revenue", "currency", read_only=True),
            _pick("Type", "Type", ["-None-", "Existing Business", "New Business"]),
            _text("Next_Step", "Next Step", 100),
            _pick("Lead_Source", "Lead Source", LEAD_SOURCES),
            _lookup("Account_Name", "Account Name", "Accounts"),
            _lookup("Contact_Name", "Contact Name", "Contacts"),
            _lookup("Campaign_Source", "Campaign Source", "Campaigns"),
            _f("Lead_Conversion_Time", "Lead Conversion Time", "integer", read_only=True),
            _f("Sales_Cycle_Duration", "Sales Cycle Duration", "integer", read_only=True),
            _f("Overall_Sales_Duration", "Overall Sales Duration", "integer", read_only=True),
            _textarea("Description", "Description"),
            _f("Last_Activity_Time", "Last Activity Time", "datetime", read_only=True),
        ],
    },
    {
        "api_name": "Campaigns",
        "singular": "Campaign",
        "plural": "Campaigns",
        "scope": "campaigns",
        "dup_check": "Campaign_Name",
        "fields": [
            _text("Campaign_Name", "Campaign Name", 120, mandatory=True),
            _pick("Type", "Type", [
                "-None-", "Advertisement", "Banner Ads", "Conference", "Direct mail", "Email",
                "Others", "Partner", "Public Relations", "Referral Program", "Telemarketing",
                "Trade Show", "Webinar",
            ]),
            _pick("Status", "Status", ["-None-", "Active", "Complete", "Inactive", "Planning"]),
            _f("Start_Date", "Start Date", "date"),
            _f("End_Date", "End Date", "date"),
            _f("Expected_Revenue", "Expected Revenue", "currency"),
            _f("Budgeted_Cost", "Budgeted Cost", "currency"),
            _f("Actual_Cost", "Actual Cost", "currency"),
            _f("Expected_Response", "Expected Response", "integer"),
            _f("Num_sent", "Numbers sent", "integer"),
            _lookup("Parent_Campaign", "Parent Campaign", "Campaigns"),
            _textarea("Description", "Description"),
        ],
    },
    {
        "api_name": "Tasks",
        "singular": "Task",
        "plural": "Tasks",
        "scope": "tasks",
        "dup_check": None,
        "fields": [
            _text("Subject", "Subject", 255, mandatory=True),
            _f("Due_Date", "Due Date", "date"),
            _pick("Status", "Status", [
                "Not Started", "Deferred", "In Progress", "Completed", "Waiting for input",
            ]),
            _pick("Priority", "Priority", ["High", "Highest", "Low", "Lowest", "Normal"]),
            _lookup("Who_Id", "Contact Name", "Contacts"),
            _lookup("What_Id", "Related To", "Accounts"),
            _f("Send_Notification_Email", "Send Notification Email", "boolean"),
            _f("Closed_Time", "Closed Time", "datetime", read_only=True),
            _textarea("Description", "Description"),
        ],
    },
    {
        "api_name": "Events",
        "singular": "Meeting",
        "plural": "Meetings",
        "scope": "events",
        "dup_check": None,
        "fields": [
            _text("Event_Title", "Title", 255, mandatory=True),
            _text("Venue", "Location", 255),
            _f("All_day", "All day", "boolean"),
            _f("Start_DateTime", "From", "datetime", mandatory=True),
            _f("End_DateTime", "To", "datetime", mandatory=True),
            _lookup("Who_Id", "Contact Name", "Contacts"),
            _lookup("What_Id", "Related To", "Accounts"),
            _textarea("Description", "Description"),
            _f("Check_In_Time", "Check-In Time", "datetime", read_only=True),
            _text("Check_In_Address", "Check-In Address", 255, read_only=True),
            _text("Check_In_Sub_Locality", "Check-In Sub-Locality", 255, read_only=True),
            _text("Check_In_City", "Check-In City", 255, read_only=True),
            _text("Check_In_State", "Check-In State", 255, read_only=True),
            _text("Check_In_Country", "Check-In Country", 255, read_only=True),
            _text("ZIP_Code", "ZIP Code", 255, read_only=True),
            _f("Latitude", "Latitude", "double", read_only=True),
            _f("Longitude", "Longitude", "double", read_only=True),
            _text("Check_In_Comment", "Check-In Comment", 255, read_only=True),
            _text("Check_In_Status", "Check-In Status", 255, read_only=True),
        ],
    },
    {
        "api_name": "Calls",
        "singular": "Call",
        "plural": "Calls",
        "scope": "calls",
        "dup_check": None,
        "fields": [
            _text("Subject", "Subject", 255, mandatory=True),
            _pick("Call_Type", "Call Type", ["Outbound", "Inbound", "Missed"], mandatory=True),
            _pick("Call_Purpose", "Call Purpose", [
                "-None-", "Prospecting", "Administrative", "Negotiation", "Demo", "Project",
                "Desk",
            ]),
            _f("Call_Start_Time", "Call Start Time", "datetime", mandatory=True),
            _text("Call_Duration", "Call Duration", 10, mandatory=True),
            _f("Call_Duration_in_seconds", "Call Duration (in seconds)", "integer",
               read_only=True),
            _pick("Call_Status", "Call Status", [
                "Scheduled", "Overdue", "Cancelled", "Completed",
            ], read_only=True),
            _pick("Call_Result", "Call Result", [
                "-None-", "Interested", "Not interested", "No response/Busy",
                "Requested more info", "Requested call back", "Invalid number",
            ]),
            _text("Call_Agenda", "Call Agenda", 255),
            _lookup("Who_Id", "Contact Name", "Contacts"),
            _lookup("What_Id", "Related To", "Accounts"),
            _f("Dialled_Number", "Dialled Number", "phone", length=30),
            _text("Caller_ID", "Caller ID", 30),
            _f("CTI_Entry", "CTI Entry", "boolean", read_only=True),
            _textarea("Description", "Description"),
        ],
    },
    {
        "api_name": "Cases",
        "singular": "Case",
        "plural": "Cases",
        "scope": "cases",
        "dup_check": "Subject",
        "fields": [
            _text("Case_Number", "Case Number", 255, read_only=True),
            _text("Subject", "Subject", 255, mandatory=True),
            _pick("Status", "Status", ["New", "On Hold", "Escalated", "Closed"],
                  mandatory=True),
            _pick("Case_Origin", "Case Origin", ["Email", "Phone", "Web"], mandatory=True),
            _pick("Priority", "Priority", ["-None-", "High", "Medium", "Low"]),
            _pick("Type", "Type", ["-None-", "Question", "Problem", "Feature Request"]),
            _pick("Case_Reason", "Case Reason", [
                "-None-", "User did not attend any training", "Complex functionality",
                "Existing problem", "Instructions not clear", "New problem",
            ]),
            _lookup("Product_Name", "Product Name", "Products"),
            _lookup("Account_Name", "Account Name", "Accounts"),
            _lookup("Deal_Name", "Deal Name", "Deals"),
            _lookup("Related_To", "Related To", "Contacts"),
            _text("Reported_By", "Reported By", 120),
            _f("Email", "Email", "email", length=100),
            _f("Phone", "Phone", "phone", length=30),
            _textarea("Description", "Description"),
            _textarea("Internal_Comments", "Internal Comments"),
            _textarea("Solution", "Solution"),
            _textarea("Add_Comment", "Add Comment"),
            _f("No_of_comments", "No. of comments", "integer", read_only=True),
        ],
    },
    {
        "api_name": "Solutions",
        "singular": "Solution",
        "plural": "Solutions",
        "scope": "solutions",
        "dup_check": "Solution_Title",
        "fields": [
            _text("Solution_Number", "Solution Number", 255, read_only=True),
            _text("Solution_Title", "Solution Title", 255, mandatory=True),
            _pick("Status", "Status", ["-None-", "Draft", "Reviewed", "Unreviewed"]),
            _f("Published", "Published", "boolean"),
            _lookup("Product_Name", "Product Name", "Products"),
            _textarea("Question", "Question"),
            _textarea("Answer", "Answer"),
            _textarea("Add_Comment", "Add Comment"),
            _f("No_of_comments", "No. of comments", "integer", read_only=True),
        ],
    },
    {
        "api_name": "Products",
        "singular": "Product",
        "plural": "Products",
        "scope": "products",
        "dup_check": "Product_Name",
        "fields": [
            _text("Product_Name", "Product Name", 120, mandatory=True),
            _text("Product_Code", "Product Code", 40),
            _f("Product_Active", "Product Active", "boolean"),
            _pick("Product_Category", "Product Category", [
                "-None-", "Hardware", "Software", "CRM Applications",
            ]),
            _pick("Manufacturer", "Manufacturer", [
                "-None-", "AltvetPet Inc.", "LexPon Inc.", "MetBeat Corp.",
            ]),
            _lookup("Vendor_Name", "Vendor Name", "Vendors"),
            _f("Sales_Start_Date", "Sales Start Date", "date"),
            _f("Sales_End_Date", "Sales End Date", "date"),
            _f("Support_Start_Date", "Support Start Date", "date"),
            _f("Support_Expiry_Date", "Support Expiry Date", "date"),
            _f("Unit_Price", "Unit Price", "currency"),
            _f("Commission_Rate", "Commission Rate", "currency"),
            _f("Tax", "Tax", "multiselectpicklist",
               pick_list=["Sales Tax", "Vat", "Service Tax"]),
            _f("Taxable", "Taxable", "boolean"),
            _pick("Usage_Unit", "Usage Unit", [
                "-None-", "Box", "Carton", "Dozen", "Each", "Hours", "Impressions", "Lb", "M",
                "Pack", "Pages", "Pieces", "Quantity", "Reams", "Sheet", "Spiral Binder",
                "Sq Ft",
            ]),
            _f("Qty_Ordered", "Qty Ordered", "double"),
            _f("Qty_in_Stock", "Qty in Stock", "double"),
            _f("Reorder_Level", "Reorder Level", "double"),
            _f("Qty_in_Demand", "Qty in Demand", "double"),
            _textarea("Description", "Description"),
        ],
    },
    {
        "api_name": "Vendors",
        "singular": "Vendor",
        "plural": "Vendors",
        "scope": "vendors",
        "dup_check": "Vendor_Name",
        "fields": [
            _text("Vendor_Name", "Vendor Name", 120, mandatory=True),
            _f("Phone", "Phone", "phone", length=30),
            _f("Email", "Email", "email", length=100),
            _f("Website", "Website", "website", length=255),
            _pick("GL_Account", "GL Account", [
                "-None-", "Sales-Software", "Sales-Hardware", "Rental-Income", "Interest-Income",
                "Sales-Software-Support", "Sales-Other", "Internet Sales",
                "Service-Hardware Labor", "Sales-Books",
            ]),
            _text("Category", "Category", 100),
            *_plain_address(),
            _textarea("Description", "Description"),
        ],
    },
    {
        "api_name": "Price_Books",
        "singular": "Price Book",
        "plural": "Price Books",
        "scope": "pricebooks",
        "dup_check": "Price_Book_Name",
        "fields": [
            _text("Price_Book_Name", "Price Book Name", 120, mandatory=True),
            _f("Active", "Active", "boolean"),
            _pick("Pricing_Model", "Pricing Model", ["-None-", "Flat", "Differential"]),
            _f("Pricing_Details", "Pricing Details", "subform", mandatory=True),
            _textarea("Description", "Description"),
        ],
    },
    {
        "api_name": "Quotes",
        "singular": "Quote",
        "plural": "Quotes",
        "scope": "quotes",
        "dup_check": "Subject",
        "fields": [
            _text("Subject", "Subject", 255, mandatory=True),
            _text("Quote_Number", "Quote Number", 255, read_only=True),
            _pick("Quote_Stage", "Quote Stage", [
                "-None-", "Draft", "Negotiation", "Delivered", "On Hold", "Confirmed",
                "Closed Won", "Closed Lost",
            ]),
            _f("Valid_Till", "Valid Until", "date"),
            _text("Team", "Team", 100),
            _pick("Carrier", "Carrier", CARRIERS),
            _lookup("Deal_Name", "Deal Name", "Deals"),
            _lookup("Contact_Name", "Contact Name", "Contacts"),
            _lookup("Account_Name", "Account Name", "Accounts"),
            _f("Quoted_Items", "Quoted Items", "subform", mandatory=True),
            *_inventory_amounts(),
            *_inventory_tail(),
        ],
    },
    {
        "api_name": "Sales_Orders",
        "singular": "Sales Order",
        "plural": "Sales Orders",
        "scope": "salesorders",
        "dup_check": "Subject",
        "fields": [
            _text("Subject", "Subject", 255, mandatory=True),
            _text("SO_Number", "SO Number", 255, read_only=True),
            _text("Customer_No", "Customer No", 100),
            _lookup("Quote_Name", "Quote Name", "Quotes"),
            _lookup("Deal_Name", "Deal Name", "Deals"),
            _lookup("Contact_Name", "Contact Name", "Contacts"),
            _lookup("Account_Name", "Account Name", "Accounts"),
            _text("Purchase_Order", "Purchase Order", 100),
            _f("Due_Date", "Due Date", "date"),
            _text("Pending", "Pending", 100),
            _pick("Carrier", "Carrier", CARRIERS),
            _f("Excise_Duty", "Excise Duty", "currency"),
            _f("Sales_Commission", "Sales Commission", "currency"),
            _pick("Status", "Status", ORDER_STATUSES),
            _f("Ordered_Items", "Ordered Items", "subform", mandatory=True),
            *_inventory_amounts(),
            *_inventory_tail(),
        ],
    },
    {
        "api_name": "Purchase_Orders",
        "singular": "Purchase Order",
        "plural": "Purchase Orders",
        "scope": "purchaseorders",
        "dup_check": "Subject",
        "fields": [
            _text("Subject", "Subject", 255, mandatory=True),
            _text("PO_Number", "PO Number", 255, read_only=True),
            _lookup("Vendor_Name", "Vendor Name", "Vendors", mandatory=True),
            _lookup("Contact_Name", "Contact Name", "Contacts"),
            _text("Requisition_No", "Requisition No", 100),
            _text("Tracking_Number", "Tracking Number", 100),
            _f("PO_Date", "PO Date", "date"),
            _f("Due_Date", "Due Date", "date"),
            _pick("Carrier", "Carrier", CARRIERS),
            _f("Excise_Duty", "Excise Duty", "currency"),
            _f("Sales_Commission", "Sales Commission", "currency"),
            _pick("Status", "Status", ORDER_STATUSES),
            _f("Purchased_Items", "Purchased Items", "subform", mandatory=True),
            *_inventory_amounts(),
            *_inventory_tail(),
        ],
    },
    {
        "api_name": "Invoices",
        "singular": "Invoice",
        "plural": "Invoices",
        "scope": "invoices",
        "dup_check": "Subject",
        "fields": [
            _text("Subject", "Subject", 255, mandatory=True),
            _text("Invoice_Number", "Invoice Number", 255, read_only=True),
            _lookup("Sales_Order", "Sales Order", "Sales_Orders"),
            _text("Purchase_Order", "Purchase Order", 100),
            _f("Invoice_Date", "Invoice Date", "date"),
            _f("Due_Date", "Due Date", "date"),
            _lookup("Contact_Name", "Contact Name", "Contacts"),
            _lookup("Account_Name", "Account Name", "Accounts"),
            _f("Excise_Duty", "Excise Duty", "currency"),
            _f("Sales_Commission", "Sales Commission", "currency"),
            _pick("Status", "Status", ORDER_STATUSES),
            _f("Invoiced_Items", "Invoiced Items", "subform", mandatory=True),
            *_inventory_amounts(),
            *_inventory_tail(),
        ],
    },
    {
        "api_name": "Appointments",
        "singular": "Appointment",
        "plural": "Appointments",
        "scope": "appointments",
        "dup_check": None,
        "fields": [
            _text("Appointment_Name", "Appointment Name", 255, mandatory=True),
            # Zoho: multi-module lookup (Contacts, Leads, Accounts, ...); Contacts by default.
            _lookup("Appointment_For", "Appointment For", "Contacts"),
            _lookup("Service_Name", "Service Name", "Services"),
            _f("Appointment_Start_Time", "Appointment Start Time", "datetime",
               mandatory=True),
            _f("Duration", "Duration (mins)", "integer", mandatory=True),
            _f("Appointment_End_Time", "Appointment End Time", "datetime", read_only=True),
            _pick("Status", "Status", [
                "Scheduled", "In Progress", "Completed", "Cancelled", "Overdue",
            ]),
            _pick("Location", "Location", ["Client Address", "Business Address"]),
            _textarea("Address", "Address", "small"),
            _textarea("Additional_Information", "Additional Information", "small"),
            _pick("Cancellation_Reason", "Cancellation Reason", [
                "-None-", "By Customer", "By Team",
            ]),
            _textarea("Cancellation_Note", "Cancellation Note", "small"),
            _f("Cancelled_Time", "Cancelled Time", "datetime", read_only=True),
        ],
    },
    {
        "api_name": "Services",
        "singular": "Service",
        "plural": "Services",
        "scope": "services",
        "dup_check": None,
        "fields": [
            _text("Service_Name", "Service Name", 255, mandatory=True),
            _f("Duration", "Duration (mins)", "integer"),
            _pick("Location", "Location", [
                "Client Address", "Business Address", "Business Address and Client Address",
            ]),
            _textarea("Business_Address", "Business Address", "small"),
            _pick("Availability_Type", "Availability Type", [
                "Every Business Days", "Specific Date Range", "Specific Date(s)",
                "Specific Day(s)",
            ]),
            _f("Available_From", "Available From", "date"),
            _f("Available_Till", "Available Till", "date"),
            _f("Available_Days", "Available Days", "multiselectpicklist", pick_list=WEEK_DAYS),
            _f("Price", "Price", "currency"),
            _f("Tax", "Tax", "multiselectpicklist",
               pick_list=["Sales Tax", "Vat", "Service Tax"]),
            _pick("Service_Status", "Status", ["Active", "Inactive"]),
            _pick("Job_Sheet_Required", "Job Sheet Required", ["No", "Yes"]),
            _textarea("Description", "Description"),
        ],
    },
    {
        # Notes of any record: Parent_Id is a multi-module lookup like What_Id, its module
        # named by `$se_module` (v2 body: `se_module`; v8 body: `Parent_Id.module.api_name`).
        "api_name": "Notes",
        "singular": "Note",
        "plural": "Notes",
        "scope": "notes",
        "dup_check": None,
        "fields": [
            _text("Note_Title", "Note Title", 120),
            _textarea("Note_Content", "Note Content", mandatory=True),
            _lookup("Parent_Id", "Parent ID", "Leads", mandatory=True),
        ],
    },
    # Linking modules: one record per link of a many-to-many related list, with the link's own
    # fields (metadata.related_lists). Zoho keeps these links internally; Corral stores them as
    # records so that linking and unlinking go through the write path and the change log.
    {
        "api_name": "Campaigns_X_Leads",
        "singular": "Campaign Member (Lead)",
        "plural": "Campaign Members (Leads)",
        "scope": "campaigns_x_leads",
        "dup_check": None,
        "generated_type": "linking",
        "fields": [
            _lookup("Campaign", "Campaign", "Campaigns", mandatory=True),
            _lookup("Lead", "Lead", "Leads", mandatory=True),
            _pick("Member_Status", "Member Status", MEMBER_STATUSES),
        ],
    },
    {
        "api_name": "Campaigns_X_Contacts",
        "singular": "Campaign Member (Contact)",
        "plural": "Campaign Members (Contacts)",
        "scope": "campaigns_x_contacts",
        "dup_check": None,
        "generated_type": "linking",
        "fields": [
            _lookup("Campaign", "Campaign", "Campaigns", mandatory=True),
            _lookup("Contact", "Contact", "Contacts", mandatory=True),
            _pick("Member_Status", "Member Status", MEMBER_STATUSES),
        ],
    },
    {
        # Contact Roles of a Deal: the Contact_Role values are Zoho's default contact roles.
        "api_name": "Deals_X_Contacts",
        "singular": "Contact Role",
        "plural": "Contact Roles",
        "scope": "deals_x_contacts",
        "dup_check": None,
        "generated_type": "linking",
        "fields": [
            _lookup("Deal", "Deal", "Deals", mandatory=True),
            _lookup("Contact", "Contact", "Contacts", mandatory=True),
            _pick("Contact_Role", "Contact Role", CONTACT_ROLES),
        ],
    },
    {
        "api_name": "Price_Books_X_Products",
        "singular": "Price Book Product",
        "plural": "Price Book Products",
        "scope": "price_books_x_products",
        "dup_check": None,
        "generated_type": "linking",
        "fields": [
            _lookup("Price_Book", "Price Book", "Price_Books", mandatory=True),
            _lookup("Product", "Product", "Products", mandatory=True),
            _f("list_price", "List Price", "currency"),
        ],
    },
]
